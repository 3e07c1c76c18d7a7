import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { killConnectionsRepeatedly, send, signUp, type Answer } from './helpers/faults.js';
import type { ServerProcess } from './helpers/server-process.js';
import { setUpServerProcesses } from './helpers/server-processes.js';
import { tally } from './helpers/tally.js';
import { findInventoryDrift } from './helpers/test-db.js';

// An Idempotency-Key must give exactly one outcome even when the fate of a commit is unknown to the server
// that sent it. Two server processes, their connections killed again and again, one of them killed with
// SIGKILL mid-burst; then every request is retried with its key. Needs a real PostgreSQL server (connections
// to kill, a second process); the embedded database has neither.

interface Sent {
  path: string;
  token: string;
  body: object;
  key: string;
  first?: Answer;
}

describe.skipIf(!process.env.DATABASE_URL)('when connections and a process die during a burst of keyed purchases', () => {
  const { testDb, servers } = setUpServerProcesses([{}, {}]);

  it('then every key ends with exactly one ticket or order, every 200 replays byte for byte, and no retry is refused', { timeout: 300_000 }, async () => {
    const [doomed, survivor] = servers as [ServerProcess, ServerProcess];
    const users = await Promise.all(Array.from({ length: 16 }, (_, i) => signUp(survivor.baseUrl, `keys-${i}-${randomBytes(3).toString('hex')}@example.com`)));
    const token = (i: number) => users[i % users.length]!.token;
    const create = async (fields: object) => {
      const answer = await send(survivor.baseUrl, '/events', token(0), { event_name: 'Keys', date: '2031-01-01T00:00:00Z', ticket_price: '49.90', total_tickets: 10_000, ...fields });
      return (JSON.parse(answer.text) as { id: number }).id;
    };
    const [bookEvent, orderEvent] = [await create({}), await create({ hold_minutes: 60 })];
    // Holds placed before the burst, confirmed during it.
    const holds = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const answer = await send(survivor.baseUrl, '/orders', token(i), { event_id: orderEvent, quantity: 2, hold: true });
        return { id: (JSON.parse(answer.text) as { id: number }).id, token: token(i) };
      }),
    );

    const requests: Sent[] = [
      ...Array.from({ length: 240 }, (_, i) => ({ path: '/book', token: token(i), body: { event_id: bookEvent }, key: randomUUID() })),
      ...Array.from({ length: 90 }, (_, i) => ({ path: '/orders', token: token(i), body: { event_id: orderEvent, quantity: (i % 3) + 1, hold: i % 3 === 0 }, key: randomUUID() })),
      ...holds.map((hold) => ({ path: `/orders/${hold.id}/confirm`, token: hold.token, body: {}, key: randomUUID() })),
    ];

    // The burst: spread over both processes, connections killed every 30 ms, one process killed a third of the way.
    const killer = killConnectionsRepeatedly(testDb.url!, 30);
    let answered = 0;
    let markThird!: () => void;
    const third = new Promise<void>((resolve) => (markThird = resolve));
    const burst = requests.map(async (request, i) => {
      request.first = await send((i % 2 ? doomed : survivor).baseUrl, request.path, request.token, request.body, { 'idempotency-key': request.key });
      if (++answered === Math.floor(requests.length / 3)) markThird();
    });
    await third;
    const exited = once(doomed.child, 'exit');
    doomed.child.kill('SIGKILL');
    await exited;
    await Promise.all(burst);
    const killed = await killer.stop();
    const firstStatuses = requests.map((request) => request.first!.status);
    expect(firstStatuses.every((status) => [0, 200, 503].includes(status)), JSON.stringify(tally(firstStatuses))).toBe(true);

    // Every request again, with its key, until it has a final answer.
    const finals = await Promise.all(requests.map((request) => retryUntilFinal(survivor.baseUrl, request)));
    console.info(`idempotency faults: ${killed} connections killed; first answers ${JSON.stringify(tally(firstStatuses))}; after retries ${JSON.stringify(tally(finals.map((f) => f.status)))}`);
    expect(killed).toBeGreaterThan(0);
    expect(finals.map((final) => final.status)).toEqual(finals.map(() => 200));
    requests.forEach((request, i) => {
      if (request.first!.status !== 200) return;
      expect(finals[i]!.text).toBe(request.first!.text);
      expect(finals[i]!.replayed).toBe('true');
    });

    // Exactly one sale per key, counted in SQL.
    const db = testDb.database.db;
    const [counts] = await queryRows<{ tickets: number; orders: number; confirmed: number; order_tickets: number; keys: number; linked: number }>(
      db,
      sql`SELECT (SELECT count(*) FROM tickets WHERE event_id = ${bookEvent} AND status = 'booked')::int AS tickets,
                 (SELECT count(*) FROM orders WHERE event_id = ${orderEvent})::int AS orders,
                 (SELECT count(*) FROM orders WHERE event_id = ${orderEvent} AND status = 'confirmed')::int AS confirmed,
                 (SELECT count(*) FROM tickets WHERE event_id = ${orderEvent} AND status = 'booked')::int AS order_tickets,
                 (SELECT count(*) FROM idempotency_keys WHERE status_code = 200)::int AS keys,
                 (SELECT count(DISTINCT COALESCE(ticket_id, -order_id)) FROM idempotency_keys WHERE status_code = 200)::int AS linked`,
    );
    const immediate = requests.filter((r) => r.path === '/orders' && !(r.body as { hold: boolean }).hold);
    const seats = immediate.reduce((sum, r) => sum + (r.body as { quantity: number }).quantity, 0);
    expect(counts).toEqual({
      tickets: 240,
      orders: 90 + holds.length,
      confirmed: immediate.length + holds.length,
      order_tickets: seats + 2 * holds.length,
      keys: requests.length,
      // Confirms link the order they confirmed, which no other key links.
      linked: requests.length,
    });
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
  });
});

// Retries 503s and lost connections (the database or the process is coming back); anything else is final.
async function retryUntilFinal(baseUrl: string, request: Sent): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await send(baseUrl, request.path, request.token, request.body, { 'idempotency-key': request.key });
    expect(answer.status, answer.text).not.toBe(409);
    if (![0, 503].includes(answer.status) || attempt === 100) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
