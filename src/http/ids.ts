import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { InvalidInput, type ValidationIssue } from '../errors.js';

/**
 * Ids are written one way. Ajv's type coercion (kept for query strings and the old clients' lax bodies)
 * reads "0x10", " 1", "01" and true as numbers, so before validation every schema marked with this keyword
 * sees its raw value: a path id must be decimal digits without a leading zero; a body id a JSON number, or
 * for the old clients those same digits as a string ("16"). The schema then checks integer and range.
 */
export const CANONICAL_ID = 'x-canonical-id';

const DIGITS = /^[1-9][0-9]*$/;

type Marked = Record<string, { [CANONICAL_ID]?: boolean } | undefined>;

function markedFields(schema: unknown): string[] {
  const properties = (schema as { properties?: Marked } | undefined)?.properties;
  if (!properties) return [];
  return Object.keys(properties).filter((name) => properties[name]?.[CANONICAL_ID] === true);
}

/** Adds the raw-value check to every route whose params or body schema has a marked id. */
export function checkIdsAsWritten(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { params?: unknown; body?: unknown } | undefined;
    const params = markedFields(schema?.params);
    const body = markedFields(schema?.body);
    if (params.length === 0 && body.length === 0) return;
    const check = (request: FastifyRequest, _reply: unknown, done: (error?: Error) => void) => {
      const issues: ValidationIssue[] = [];
      const rawParams = request.params as Record<string, unknown>;
      for (const name of params) {
        if (!DIGITS.test(String(rawParams[name]))) issues.push(issue('path', name));
      }
      const rawBody = request.body as Record<string, unknown> | null | undefined;
      if (rawBody && typeof rawBody === 'object' && !Array.isArray(rawBody)) {
        for (const name of body) {
          const value = rawBody[name];
          if (value === undefined || typeof value === 'number' || (typeof value === 'string' && DIGITS.test(value))) continue;
          // Arrays and objects are left to the schema, which names them in its own words.
          if (typeof value !== 'object' || value === null) issues.push(issue('body', name));
        }
      }
      done(issues.length > 0 ? new InvalidInput(issues) : undefined);
    };
    route.preValidation = [check, ...(route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation])];
  });
}

function issue(location: 'path' | 'body', name: string): ValidationIssue {
  return { loc: [location, name], msg: 'Input should be a valid integer, written in digits without sign, spaces or leading zeros', type: 'int_parsing' };
}
