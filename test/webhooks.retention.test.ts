import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, type Db } from '../src/db/client.js';
import { purgeSettledWebhooks } from '../src/webhooks/retention.js';
import { buildTestApp, testConfig } from './helpers/build-test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';
import { uniqueEmail } from './helpers/factories.js';

// Retention of the outbox: settled deliveries go after their keep time (delivered 7 days, failed 30, from
// their last attempt, by default), in small batches, with their attempts; pending ones never. The clock is
// the database's, so the test ages rows by moving their last attempt into the past.
// A database of its own for the direct calls: no app purges it behind the test's back.
let testDb: TestDatabase;
let db: Db;
beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.database.db;
});
afterAll(() => testDb.drop());

async function newEndpoint(): Promise<number> {
  const users = await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES (${uniqueEmail()}, 'x') RETURNING id`);
  const rows = await queryRows<{ id: number }>(
    db,
    sql`INSERT INTO webhook_endpoints (owner_id, url, events, secret) VALUES (${users[0]!.id}, 'https://example.com/h', '{event.updated}', 'whsec_AAAA') RETURNING id`,
  );
  return rows[0]!.id;
}

/** A delivery made `daysAgo` days ago (settled then, or still pending), with one attempt row. */
async function delivery(endpointId: number, status: 'pending' | 'succeeded' | 'failed', daysAgo: number): Promise<number> {
  const rows = await queryRows<{ id: number | string }>(
    db,
    sql`INSERT INTO webhook_outbox (endpoint_id, type, data, status, attempts, created_at, next_attempt_at, delivered_at)
        VALUES (${endpointId}, 'event.updated', '{}'::json, ${status}, 1, now() - make_interval(days => ${daysAgo + 1}::int),
                -- A pending row's next attempt is a day ahead: old, but not due (the worker leaves it alone).
                CASE WHEN ${status} = 'pending' THEN now() + interval '1 day' ELSE now() - make_interval(days => ${daysAgo}::int) END, CASE WHEN ${status} = 'succeeded' THEN now() - make_interval(days => ${daysAgo}::int) END)
        RETURNING id`,
  );
  const id = Number(rows[0]!.id);
  await db.execute(sql`INSERT INTO webhook_attempts (outbox_id, status_code, duration_ms) VALUES (${id}, 200, 5)`);
  return id;
}

const remaining = async (endpointId: number) =>
  (await queryRows<{ id: number | string }>(db, sql`SELECT id FROM webhook_outbox WHERE endpoint_id = ${endpointId} ORDER BY id`)).map((r) => Number(r.id));
const attemptsOf = async (ids: number[]) =>
  (await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_attempts WHERE outbox_id = ANY (${`{${ids.join(',')}}`}::bigint[])`))[0]!.n;

describe('the outbox retention', () => {
  it('when nothing is set, then delivered rows are kept 7 days and failed ones 30', () => {
    expect(testConfig().webhooks).toMatchObject({ keepDeliveredDays: 7, keepFailedDays: 30, purgeSeconds: 60 });
  });

  it('when settled rows are past their keep time, then they go in batches with their attempts; younger and pending rows stay', async () => {
    const endpoint = await newEndpoint();
    const oldDelivered: number[] = [];
    for (let i = 0; i < 7; i++) oldDelivered.push(await delivery(endpoint, 'succeeded', 8));
    const oldFailed = [await delivery(endpoint, 'failed', 31)];
    const kept = [await delivery(endpoint, 'succeeded', 6), await delivery(endpoint, 'failed', 29), await delivery(endpoint, 'pending', 40)];
    const settings = { keepDeliveredDays: 7, keepFailedDays: 30 };

    // Batches of 3, at most 2 per run: 6 of the 7 old delivered rows now, the last one on the next run.
    const first = await purgeSettledWebhooks(db, settings, { batchSize: 3, maxBatches: 2 });
    expect(first).toBe(7);
    expect((await remaining(endpoint)).filter((id) => oldDelivered.includes(id))).toHaveLength(1);
    expect(await purgeSettledWebhooks(db, settings, { batchSize: 3, maxBatches: 2 })).toBe(1);
    expect(await remaining(endpoint)).toEqual(kept);
    expect(await attemptsOf([...oldDelivered, ...oldFailed])).toBe(0);
    expect(await attemptsOf(kept)).toBe(3);
    expect(await purgeSettledWebhooks(db, settings)).toBe(0);
  });

  it('when the app runs, then its purge leader removes old settled rows by itself', async () => {
    // The purge runs every second here.
    const t = await buildTestApp({ WEBHOOKS_PURGE_SECONDS: '1' });
    db = t.testDb.database.db;
    try {
      const endpoint = await newEndpoint();
      await delivery(endpoint, 'succeeded', 10);
      await delivery(endpoint, 'failed', 45);
      const kept = [await delivery(endpoint, 'succeeded', 1), await delivery(endpoint, 'pending', 45)];
      await expect.poll(() => remaining(endpoint), { timeout: 15_000 }).toEqual(kept);
    } finally {
      db = testDb.database.db;
      await t.close();
    }
  });
});
