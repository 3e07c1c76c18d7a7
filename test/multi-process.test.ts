import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bookOverHttp } from './helpers/factories.js';
import type { ServerProcess } from './helpers/server-process.js';
import { setUpServerProcesses } from './helpers/server-processes.js';
import { findInventoryDrift } from './helpers/test-db.js';

// Several server processes share nothing but PostgreSQL; only the database's guarantees keep them from
// overselling. The embedded database belongs to one process, so this runs on a real server only.
describe.skipIf(!process.env.DATABASE_URL)('when several server processes sell one event', () => {
  // One cluster of two workers and one single process: three processes, two ports.
  const { testDb, servers } = setUpServerProcesses([{ WORKERS: '2' }, {}], { expectCleanExit: true });

  it('then 300 buyers spread over them get exactly the 100 seats', async () => {
    const [first, second] = servers as [ServerProcess, ServerProcess];
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const server = i % 2 ? first : second;
      const email = `mp-${i}-${randomBytes(3).toString('hex')}@example.com`;
      const body = JSON.stringify({ email, password: 'correct horse battery' });
      await fetch(`${server.baseUrl}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const login = await fetch(`${server.baseUrl}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: email, password: 'correct horse battery' }),
      });
      tokens.push(((await login.json()) as { access_token: string }).access_token);
    }
    const created = await fetch(`${first.baseUrl}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[0]!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_name: 'Shared', date: '2031-01-01T00:00:00Z', ticket_price: '10.00', total_tickets: 100 }),
    });
    const eventId = ((await created.json()) as { id: number }).id;

    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => bookOverHttp((i % 2 ? first : second).baseUrl, tokens[i % tokens.length]!, eventId)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 400)).toHaveLength(200);
    const event = (await (await fetch(`${second.baseUrl}/events/${eventId}`)).json()) as { tickets_sold: number };
    expect(event.tickets_sold).toBe(100);
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
  });
});
