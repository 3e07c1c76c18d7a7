import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../client/example.js';
import { generateClient, OPENAPI_FILE, TYPES_FILE, type GeneratedClient } from '../scripts/export-openapi.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { uniqueEmail } from './helpers/factories.js';

const STALE = 'is stale: run `npm run openapi` and commit openapi.json and client/bookfast-api.d.ts';

describe('the committed OpenAPI document and client types', () => {
  let generated: GeneratedClient;
  beforeAll(async () => {
    generated = await generateClient();
  });

  it('when the app is built now, then openapi.json is exactly its document', () => {
    const committed = readFileSync(OPENAPI_FILE, 'utf8');
    // Parsed first, so a failure shows which route differs rather than one long string.
    expect(JSON.parse(committed), `openapi.json ${STALE}`).toEqual(JSON.parse(generated.json));
    expect(committed, `openapi.json ${STALE}`).toBe(generated.json);
  });

  it('when the document is turned into TypeScript, then client/bookfast-api.d.ts is exactly that', () => {
    expect(readFileSync(TYPES_FILE, 'utf8'), `client/bookfast-api.d.ts ${STALE}`).toBe(generated.types);
  });
});

describe('the typed client example of the docs', () => {
  const { t } = setUpTestApp();

  it('when it is in docs/api/typed-client.md, then it is the very code the type checker and this test run', () => {
    const example = readFileSync(new URL('../client/example.ts', import.meta.url), 'utf8');
    const snippet = /\/\/ README:start\n([\s\S]*?)\/\/ README:end/.exec(example)![1]!;
    expect(readFileSync(new URL('../docs/api/typed-client.md', import.meta.url), 'utf8')).toContain(snippet.trim());
  });

  it('when a shop registers, logs in, creates an event and books through it, then every answer is the typed one', async () => {
    const email = uniqueEmail('shop');
    const password = 'correct horse battery';
    const user = await call(t.baseUrl, 'post', '/register', { email, password });
    expect(user.email).toBe(email);
    const { access_token } = await call(t.baseUrl, 'post', '/login', { username: email, password });
    const event = await call(t.baseUrl, 'post', '/events', { event_name: 'Typed', date: '2031-03-01T20:00:00Z', ticket_price: '12.50', total_tickets: 10 }, access_token);
    const ticket = await call(t.baseUrl, 'post', '/book', { event_id: event.id }, access_token);
    expect(ticket.event.tickets_available).toBe(9);
    const listed = await call(t.baseUrl, 'get', '/events');
    expect(listed.map((known) => known.id)).toContain(event.id);
  });

  it('when an answer is an error, then the call throws with the status', async () => {
    await expect(call(t.baseUrl, 'post', '/book', { event_id: 1 })).rejects.toThrow(/^401 /);
  });
});

// Compiled by `tsc --noEmit`, never run: wrong calls do not type-check.
export function typeErrors(base: string): void {
  // @ts-expect-error event_id is a number
  void call(base, 'post', '/book', { event_id: '1' });
  // @ts-expect-error no such route
  void call(base, 'post', '/books', { event_id: 1 });
  // @ts-expect-error the answer of /book has no `seat` field
  void call(base, 'post', '/book', { event_id: 1 }).then((ticket) => ticket.seat);
}
