import type { FastifyError, FastifyInstance } from 'fastify';
import { isNotPrimary } from '../db/not-primary.js';
import { AppError, InvalidInput, type ValidationIssue } from '../errors.js';
import { namingAllowedValues } from './enum-issues.js';

type AjvIssue = NonNullable<FastifyError['validation']>[number];

// FastAPI names the part of the request first: body, query, path, header.
const LOCATION: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

// SQLSTATEs that mean "the database is unavailable or overloaded right now", so the client should retry.
const RETRYABLE_SQLSTATE = new Set(['57014', '55P03', '53300', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }));

  app.setErrorHandler((error: FastifyError & { code?: string }, request, reply) => {
    if (error instanceof InvalidInput) {
      return reply.code(422).send({ detail: error.issues });
    }
    if (error instanceof AppError) {
      return reply.code(error.statusCode).headers(error.headers).send({ detail: error.message });
    }
    if (error.validation) {
      const location = LOCATION[error.validationContext ?? 'body'] ?? 'body';
      return reply.code(422).send({ detail: namingAllowedValues(error.validation).map((issue) => toFastApiIssue(location, issue)) });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ detail: error.message });
    }
    if (isClientDataRejectedByDatabase(error)) {
      // Class 22 (data exception): input that passed the schema but that PostgreSQL cannot store, such as a
      // NUL character in a string. The client sent it, so it is a 4xx; nothing was written.
      return reply.code(400).send({ detail: 'Invalid input: a value cannot be stored (for example a NUL character in text)' });
    }
    if (isNotPrimary(error)) {
      // A failover in progress: this server is (still) read-only; the pool has dropped the connection.
      request.log.warn({ err: error }, 'database is not the primary (failover in progress)');
      return reply.code(503).header('Retry-After', '1').send({ detail: 'Service temporarily unavailable, retry shortly' });
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      return reply.code(503).header('Retry-After', '1').send({ detail: 'Service temporarily unavailable, retry shortly' });
    }
    // Never send a 5xx's own text: it can carry SQL, paths or secrets.
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  });
}

function toFastApiIssue(location: string, issue: AjvIssue): ValidationIssue {
  const path = issue.instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')));
  const params = issue.params as Record<string, unknown>;
  if (issue.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { loc: [location, ...path, params.missingProperty], msg: 'Field required', type: 'missing' };
  }
  return { loc: [location, ...path], msg: issue.message ?? 'invalid value', type: ISSUE_TYPE[issue.keyword] ?? 'value_error' };
}

const ISSUE_TYPE: Record<string, string> = {
  type: 'type_error',
  minimum: 'greater_than_equal',
  exclusiveMinimum: 'greater_than',
  maximum: 'less_than_equal',
  exclusiveMaximum: 'less_than',
  minLength: 'string_too_short',
  maxLength: 'string_too_long',
  pattern: 'string_pattern_mismatch',
  format: 'value_error',
  enum: 'enum',
  const: 'literal_error',
  anyOf: 'value_error',
  additionalProperties: 'extra_forbidden',
};

function isClientDataRejectedByDatabase(error: { code?: string; cause?: unknown }): boolean {
  const code = error.code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

function isDatabaseUnavailable(error: { code?: string; message?: string; cause?: unknown }): boolean {
  // Drizzle wraps the driver's error ("Failed query: ...") and keeps the original as `cause`.
  if (error.cause && typeof error.cause === 'object' && isDatabaseUnavailable(error.cause)) return true;
  if (error.code && RETRYABLE_SQLSTATE.has(error.code)) return true;
  if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') return true;
  const message = error.message ?? '';
  return /timeout exceeded when trying to connect|Connection terminated|connection is closed|Client has encountered a connection error|Client was closed/i.test(
    message,
  );
}
