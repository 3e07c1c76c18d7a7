// The bench's buyers and the requests they send, built for autocannon.
import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';

// One prepared request per buyer, which autocannon cycles through: it builds each request's bytes once. A
// setupRequest callback would make it rebuild every request, costing it (and so the server, which shares
// the machine's two cores with it) about half again as much CPU per request.
export function bookRequests(baseUrl: string, tokens: string[], eventId: number, options: Partial<autocannon.Options>): autocannon.Options {
  const body = JSON.stringify({ event_id: eventId });
  return {
    url: baseUrl,
    ...options,
    requests: tokens.map((token) => ({
      method: 'POST' as const,
      path: '/book',
      body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    })),
  };
}

// As bookRequests over several events, each request for an event drawn at random: buyers of different events
// arrive independently, as they do on a platform with many on-sales. (A fixed rotation would keep connections
// in step: each buyer would book the same event, and a stall on one would bunch its event's next requests.)
// The draw is a setupRequest callback, so autocannon builds each request anew (its CPU is reported).
export function spreadBookRequests(baseUrl: string, tokens: string[], eventIds: number[], options: Partial<autocannon.Options>): autocannon.Options {
  const bodies = eventIds.map((id) => JSON.stringify({ event_id: id }));
  const requests = bookRequests(baseUrl, tokens, eventIds[0]!, options);
  return {
    ...requests,
    requests: requests.requests!.map((request) => ({
      ...request,
      setupRequest: (built: autocannon.Request) => ({ ...built, body: bodies[Math.floor(Math.random() * bodies.length)]! }),
    })),
  };
}

// As bookRequests, with a key per request: autocannon puts a fresh unique id where `[<id>]` stands, which
// makes it build every request anew (its CPU is reported next to the server's).
export function keyedBookRequests(baseUrl: string, tokens: string[], eventId: number, options: Partial<autocannon.Options>): autocannon.Options {
  const requests = bookRequests(baseUrl, tokens, eventId, options);
  return {
    ...requests,
    idReplacement: true,
    requests: requests.requests!.map((request) => ({ ...request, headers: { ...request.headers, 'idempotency-key': '[<id>]' } })),
  };
}

// Buyers and quantities (1..4) rotate, so orders of every size compete for the same event row.
export function orderRequests(baseUrl: string, tokens: string[], eventId: number, options: Partial<autocannon.Options>): autocannon.Options {
  return {
    url: baseUrl,
    ...options,
    requests: tokens.map((token, i) => ({
      method: 'POST' as const,
      path: '/orders',
      body: JSON.stringify({ event_id: eventId, quantity: (i % 4) + 1 }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    })),
  };
}

/** Registers and logs in `count` buyers over HTTP, 16 at a time; their access tokens. */
export async function makeBuyers(baseUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const password = 'bench-password-123';
  const one = async (i: number) => {
    const email = `buyer${i}-${randomBytes(3).toString('hex')}@bench.example`;
    const headers = { 'content-type': 'application/json' };
    await fetch(`${baseUrl}/register`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
    const login = await fetch(`${baseUrl}/login`, { method: 'POST', headers, body: JSON.stringify({ username: email, password }) });
    tokens.push(((await login.json()) as { access_token: string }).access_token);
  };
  for (let i = 0; i < count; i += 16) await Promise.all(Array.from({ length: Math.min(16, count - i) }, (_, j) => one(i + j)));
  return tokens;
}

/**
 * As bookRequests for a crowd: each connection cycles through its own share of the buyers (autocannon would
 * start every connection at the first request, so the first few buyers would get them all). The requests are
 * still built once, as (c)'s are.
 */
export function crowdBookRequests(baseUrl: string, crowd: string[], eventId: number, options: Partial<autocannon.Options> & { connections: number }): autocannon.Options {
  const all = bookRequests(baseUrl, crowd, eventId, options).requests!;
  const share = Math.max(1, Math.floor(all.length / options.connections));
  let next = 0;
  return {
    url: baseUrl,
    ...options,
    requests: all.slice(0, share),
    setupClient: (client) => {
      const from = (next++ % options.connections) * share;
      client.setRequests(all.slice(from, from + share));
    },
  };
}
