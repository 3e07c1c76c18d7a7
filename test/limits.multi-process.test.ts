import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requestOnNewConnection } from './helpers/server-process.js';
import { setUpServerProcesses } from './helpers/server-processes.js';

// Issue 12: with WORKERS=2 and no Redis every limit was doubled. Login, registration and password-change
// limits are now exact (the database counts them); bookings are counted per process, each enforcing its share.
describe.skipIf(!process.env.DATABASE_URL)('when two worker processes enforce the limits without Redis', () => {
  const password = 'correct horse battery';
  const { servers: [server] } = setUpServerProcesses([
    {
      WORKERS: '2',
      RATE_LIMITS: 'on',
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      RATE_LIMIT_LOGIN_FAILURES: '3',
      RATE_LIMIT_REGISTER_PER_HOUR: '5',
      RATE_LIMIT_BOOKINGS_PER_MINUTE: '4',
    },
  ]);

  const call = (method: string, path: string, body?: unknown, token?: string) => requestOnNewConnection(server.baseUrl, method, path, body, token);
  const count = (list: number[], status: number) => list.filter((s) => s === status).length;

  it('then registrations, login failures and bookings are held to their numbers, and start-up said how once', async () => {
    const emails = Array.from({ length: 8 }, (_, i) => `limits-${i}-${randomBytes(3).toString('hex')}@example.com`);
    const registered = await Promise.all(emails.map((email) => call('POST', '/register', { email, password })));
    expect(count(registered.map((r) => r.status), 200)).toBe(5);
    expect(count(registered.map((r) => r.status), 429)).toBe(3);
    const accounts = emails.filter((_, i) => registered[i]!.status === 200);

    const guesses = await Promise.all(Array.from({ length: 12 }, () => call('POST', '/login', { username: accounts[0], password: 'wrong password' })));
    expect(count(guesses.map((r) => r.status), 401)).toBe(3);
    expect(count(guesses.map((r) => r.status), 429)).toBe(9);

    const buyer = JSON.parse((await call('POST', '/login', { username: accounts[1], password })).text) as { access_token: string };
    const created = await call('POST', '/events', { event_name: 'Limits', date: '2031-01-01T20:00:00Z', ticket_price: '5.00', total_tickets: 100 }, buyer.access_token);
    const event = JSON.parse(created.text) as { id: number };
    const booked: number[] = [];
    for (let i = 0; i < 8; i++) booked.push((await call('POST', '/book', { event_id: event.id }, buyer.access_token)).status);
    // 4 per minute for the deployment: each of the two processes allows 2, so at most 4 in all (not 8).
    expect(count(booked, 200)).toBeGreaterThanOrEqual(2);
    expect(count(booked, 200)).toBeLessThanOrEqual(4);
    expect(count(booked, 200) + count(booked, 429)).toBe(8);

    const lines = server.stdout().split('\n').filter((line) => line.includes('rate limits:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('each of the 2 process(es) on this host allows 2');
  });
});
