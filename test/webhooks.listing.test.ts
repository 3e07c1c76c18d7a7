import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Db } from '../src/db/client.js';
import { queueFigures } from '../src/webhooks/queue.js';
import { listDeliveries } from '../src/webhooks/repository.js';
import { uniqueEmail } from './helpers/factories.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// The outbox read back through its one index (endpoint, status, id): an endpoint's deliveries listed newest
// first across statuses, a page at a time, and the queue figures of /metrics, on a real database.

let testDb: TestDatabase;
let db: Db;
let endpoints: number[];
// Per endpoint, the outbox ids in creation order with the status each was given.
const made = new Map<number, { id: number; status: string }[]>();

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
  const [owner] = await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES (${uniqueEmail()}, 'x') RETURNING id`);
  endpoints = [];
  for (let i = 0; i < 2; i++) {
    const [endpoint] = await queryRows<{ id: number }>(
      db,
      sql`INSERT INTO webhook_endpoints (owner_id, url, events, secret) VALUES (${owner!.id}, 'https://example.com/h', '{ticket.booked}', 'whsec_AAAA') RETURNING id`,
    );
    endpoints.push(endpoint!.id);
    made.set(endpoint!.id, []);
  }
  // Interleaved endpoints and statuses, so that no status holds a run of consecutive ids.
  const statuses = ['succeeded', 'pending', 'failed', 'succeeded', 'succeeded', 'pending', 'failed', 'pending', 'succeeded'];
  for (let i = 0; i < 27; i++) {
    const endpoint = endpoints[i % 2]!;
    const status = statuses[i % statuses.length]!;
    const [row] = await queryRows<{ id: number | string }>(
      db,
      sql`INSERT INTO webhook_outbox (endpoint_id, type, data, status, created_at)
          VALUES (${endpoint}, 'ticket.booked', '{}', ${status}, now() - make_interval(secs => ${100 - i})) RETURNING id`,
    );
    made.get(endpoint)!.push({ id: Number(row!.id), status });
  }
});
afterAll(() => testDb.drop());

const listed = async (endpoint: number, query: { skip: number; limit: number; status?: 'pending' | 'succeeded' | 'failed' }) =>
  (await listDeliveries(db, endpoint, query)).map((row) => ({ id: Number(row.id), status: row.status }));

describe('when an endpoint’s deliveries are listed', () => {
  it('then they come newest first across statuses, page after page, each exactly once', async () => {
    const endpoint = endpoints[0]!;
    const expected = [...made.get(endpoint)!].reverse();
    const pages = [await listed(endpoint, { skip: 0, limit: 4 }), await listed(endpoint, { skip: 4, limit: 4 }), await listed(endpoint, { skip: 8, limit: 100 })];
    expect(pages.flat()).toEqual(expected);
    expect(pages[0]).toHaveLength(4);
  });

  it('then a status filter lists only that status, newest first', async () => {
    const endpoint = endpoints[1]!;
    const failed = made
      .get(endpoint)!
      .filter((row) => row.status === 'failed')
      .reverse();
    expect(await listed(endpoint, { skip: 0, limit: 100, status: 'failed' })).toEqual(failed);
    expect(await listed(endpoint, { skip: 1, limit: 1, status: 'failed' })).toEqual(failed.slice(1, 2));
  });
});

describe('when /metrics reads the queue', () => {
  it('then it counts every endpoint’s pending rows and gives the age of the oldest', async () => {
    const pending = [...made.values()].flat().filter((row) => row.status === 'pending').length;
    const figures = await queueFigures(db);
    expect(figures.pending).toBe(pending);
    // The oldest pending row is the second made (i = 1): 99 s old when inserted.
    expect(figures.oldest_seconds).toBeGreaterThanOrEqual(99);
    expect(figures.oldest_seconds).toBeLessThan(130);
  });
});
