// The "Typed client" example of docs/api/typed-client.md, kept here so the type checker and test/openapi.test.ts run it.
// README:start
import type { paths } from './bookfast-api.js';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Op<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
type Body<O> = O extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;
type Ok<O> = O extends { responses: { 200: infer R } } ? Json<R> : never;

export async function call<P extends keyof paths, M extends keyof paths[P] & ('get' | 'post' | 'patch')>(
  base: string, method: M, path: P, body?: Body<Op<P, M>>, token?: string,
): Promise<Ok<Op<P, M>>> {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(base + path, { method: method.toUpperCase(), headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return (await response.json()) as Ok<Op<P, M>>;
}

// const { access_token } = await call(base, 'post', '/login', { username: 'ada@example.com', password: 'correct horse' });
// const ticket = await call(base, 'post', '/book', { event_id: 1 }, access_token); // typed: ticket.event.tickets_available
// README:end
