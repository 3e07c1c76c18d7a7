import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent } from './helpers/factories.js';

// Every route the OpenAPI document lists is fed random and hostile input built from its schema: wrong
// types, huge numbers, odd strings, missing and extra fields, broken bodies, with and without a token.
// Whatever comes in, the answer is a 4xx (or a 2xx) with a JSON detail, never a 5xx or a stack trace.

interface Operation {
  method: string;
  path: string;
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  produces?: string[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  items?: JsonSchema;
}

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 40);

const { t, user } = setUpTestApp({ users: ['user'], checkInventory: true });
let eventId: number;
const operations: Operation[] = [];

beforeAll(async () => {
  eventId = (await createEvent(t.app, user, { total_tickets: 5 })).id;
  const doc = (await t.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, Operation>> }>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      // Streams never end on their own; they are covered by their own tests.
      const streams = Object.values(operation.responses).some((r) => r.content && 'text/event-stream' in r.content);
      if (!streams && !path.startsWith('/docs')) operations.push({ ...operation, method: method.toUpperCase(), path });
    }
  }
});

const hostileString = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', '0', '-1', '1e309', 'NaN', 'null', '9999999999999999999999', "'); DROP TABLE events;--", '%00', '../../etc/passwd', '\u0000', '😀'.repeat(50), 'a'.repeat(5000)),
);
const hostileNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, -(2 ** 63), 1.5, 1e308));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 3 }));

function valueFor(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  const typed =
    schema?.type === 'integer' || schema?.type === 'number'
      ? fc.oneof(hostileNumber, fc.integer({ min: 1, max: 5 }), fc.constant(eventId))
      : schema?.type === 'string'
        ? hostileString
        : schema?.type === 'boolean'
          ? fc.boolean()
          : anyValue;
  return fc.oneof({ weight: 3, arbitrary: typed }, { weight: 1, arbitrary: anyValue });
}

function bodyFor(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema?.properties) return anyValue;
  const fields = Object.fromEntries(Object.entries(schema.properties).map(([name, prop]) => [name, valueFor(prop)]));
  return fc.oneof(
    { weight: 4, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 1, arbitrary: anyValue },
  );
}

describe('fuzzing every documented route', () => {
  it('then nothing a client sends gets a 5xx or a stack trace', async () => {
    expect(operations.length).toBeGreaterThan(8);
    let cases = 0;
    for (const operation of operations) {
      const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
      const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query');
      const jsonSchema = operation.requestBody?.content['application/json']?.schema;
      const request = fc.record({
        path: fc.tuple(...pathParams.map((p) => fc.oneof(valueFor(p.schema), fc.constant(eventId)))),
        query: fc.tuple(...queryParams.map((p) => fc.option(valueFor(p.schema)))),
        body: bodyFor(jsonSchema),
        rawBody: fc.option(fc.oneof(fc.string(), fc.constantFrom('{', '{"a":', '[]', 'null', '{"__proto__":{"x":1}}')), { freq: 4 }),
        authenticated: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ path, query, body, rawBody, authenticated }) => {
          cases++;
          let url = operation.path;
          pathParams.forEach((param, i) => (url = url.replace(`{${param.name}}`, encodeURIComponent(asText(path[i])))));
          const search = new URLSearchParams();
          queryParams.forEach((param, i) => query[i] !== null && search.set(param.name, asText(query[i])));
          const response = await t.app.inject({
            method: operation.method as 'GET',
            url: search.size ? `${url}?${search}` : url,
            headers: { 'content-type': 'application/json', ...(authenticated ? user.auth : {}) },
            payload: ['GET', 'DELETE'].includes(operation.method) ? undefined : (rawBody ?? JSON.stringify(body ?? null)),
          });
          const context = `${operation.method} ${url} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
          expect(response.statusCode, context).toBeLessThan(500);
          expect(response.body, context).not.toMatch(/\n\s+at .+:\d+:\d+/);
          if (response.statusCode >= 400) expect(response.json(), context).toHaveProperty('detail');
        }),
        { numRuns: RUNS_PER_ROUTE, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    }
    console.info(`fuzz: ${cases} requests over ${operations.length} operations, no 5xx`);
  });
});

function asText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
