import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { startServerProcess } from './helpers/server-process.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './helpers/test-db.js';

// The real entry point (src/server.ts in its own process) stopped with SIGTERM in the middle of a burst of
// bookings and of cancellations that start waiting-list promotions in the background, with the hold sweeper
// running every second. On PostgreSQL or on the embedded database, whichever the tests use.

let testDb: TestDatabase | undefined;
afterAll(() => testDb?.drop());

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
}

describe('when the server gets SIGTERM in the middle of a burst', () => {
  it('then every request it accepted is answered, background work ends before the pool closes, and it exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-shutdown-'));
    testDb = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
    const server = await startServerProcess({
      ...(testDb ? { DATABASE_URL: testDb.url! } : {}),
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('hex'),
      RATE_LIMITS: 'off',
      LOG_LEVEL: 'info',
      HOLD_SWEEP_SECONDS: '1',
      // Two connections for bookings, cancels, promotions and sweeps: background work is still queued for
      // one when the last request has been answered, which is when a badly ordered close ends the pool.
      DB_POOL_SIZE: '2',
    });
    const post = async (path: string, token: string | undefined, body?: object) => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method: 'POST',
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const tokens: string[] = [];
    for (let i = 0; i < 41; i++) {
      const email = `shutdown-${i}-${randomBytes(3).toString('hex')}@example.com`;
      expect((await post('/register', undefined, { email, password: 'correct horse battery' })).status).toBe(200);
      tokens.push((await post('/login', undefined, { username: email, password: 'correct horse battery' })).body.access_token as string);
    }
    const [seller, ...others] = tokens as [string, ...string[]];
    const event = (fields: object) => post('/events', seller, { event_name: 'Last night', date: '2031-01-01T00:00:00Z', ticket_price: '10.00', ...fields });
    const big = (await event({ total_tickets: 400 })).body.id as number;
    // Forty sold-out events of two seats with someone in line: every cancel below starts a promotion.
    const cancels: string[] = [];
    for (let i = 0; i < 40; i++) {
      const small = (await event({ total_tickets: 2 })).body.id as number;
      const order = await post('/orders', seller, { event_id: small, quantity: 2 });
      for (const ticket of order.body.tickets as { id: number }[]) cancels.push(`/tickets/${ticket.id}/cancel`);
      expect((await post(`/events/${small}/waitlist`, others[i])).status).toBe(201);
    }

    let answered = 0;
    let stopped: Promise<number | null> | undefined;
    const settle = (request: Promise<{ status: number }>) =>
      request.then(
        ({ status }) => {
          // Mid-burst: the signal goes once some answers are back, never after a fixed time.
          if (++answered === 60) stopped = server.stop();
          return status;
        },
        (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
      );
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => settle(i % 3 === 0 && cancels[i / 3] ? post(cancels[i / 3]!, seller) : post('/book', others[i % others.length], { event_id: big }))),
    );
    const code = await (stopped ?? server.stop());

    expect(code).toBe(0);
    // Answers are 200, Sold Out (400) or "shutting down" (503); never a 500. Connections opened after the
    // server stopped listening are refused, which is not a request it accepted.
    for (const outcome of outcomes) expect([200, 400, 503, 'ECONNREFUSED', 'ECONNRESET']).toContain(outcome);
    const lines = server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
    // Every request the server accepted was answered: each "incoming request" has its "request completed".
    const incoming = lines.filter((line) => line.msg === 'incoming request').map((line) => line.reqId);
    const completed = new Set(lines.filter((line) => line.msg === 'request completed').map((line) => line.reqId));
    expect(incoming.length).toBeGreaterThan(60);
    expect(incoming.filter((reqId) => !completed.has(reqId))).toEqual([]);
    // Nothing failed on a closed pool: no error or warning logged at all (promotions, sweeps, batches).
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(server.stderr()).toBe('');

    // Every promotion that started finished: the counters and the lines agree with the rows.
    const database = testDb ? testDb.database : await openDatabase({ dataDir });
    try {
      expect(await findInventoryDrift(database)).toEqual([]);
    } finally {
      if (!testDb) await database.close();
    }
    // A process start (tsx), 41 sign-ups and a burst: minutes when the machine is busy.
  }, 300_000);
});
