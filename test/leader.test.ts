import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { LeaderLease } from '../src/db/leader.js';
import { testConfig } from './helpers/build-test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// The lease in src/db/leader.ts: one statement decides, so it holds across processes, hosts and poolers.
// On a server every contender gets its own connection pool (as separate processes would); PGlite serves one.
describe('LeaderLease', () => {
  let testDb: TestDatabase;
  const extra: Database[] = [];
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(extra.map((database) => database.close()));
    await testDb.drop();
  });

  async function contenderDb(): Promise<Database> {
    if (!testDb.url) return testDb.database;
    const database = await openDatabase({ databaseUrl: testDb.url, poolSize: 2 });
    extra.push(database);
    return database;
  }

  it('when ten contenders race for a free lease, then exactly one gets it and keeps it on renewal', async () => {
    const leases = await Promise.all(Array.from({ length: 10 }, async () => new LeaderLease((await contenderDb()).db, 'race', 60_000)));
    for (let round = 0; round < 5; round++) {
      const won = await Promise.all(leases.map((lease) => lease.tryLead()));
      expect(won.filter(Boolean)).toHaveLength(1);
      // The same one every round: renewal never hands the lease over while it is live.
      expect(leases.filter((lease) => lease.isLeader())).toEqual([leases[won.indexOf(true)]]);
    }
  });

  it('when the holder releases or its lease expires, then exactly one other contender takes over', async () => {
    const db = (await contenderDb()).db;
    const [first, ...others] = Array.from({ length: 5 }, () => new LeaderLease(db, 'handover', 60_000));
    expect(await first!.tryLead()).toBe(true);
    expect(await Promise.all(others.map((lease) => lease.tryLead()))).toEqual([false, false, false, false]);
    await first!.release();
    const after = await Promise.all(others.map((lease) => lease.tryLead()));
    expect(after.filter(Boolean)).toHaveLength(1);
    // Expiry by the database's clock: move the live lease into the past, as a holder that died leaves it.
    await db.execute(sql`UPDATE leader_leases SET expires_at = now() - interval '1 second' WHERE name = 'handover'`);
    const successor = new LeaderLease(db, 'handover', 60_000);
    expect(await successor.tryLead()).toBe(true);
    const previous = others[after.indexOf(true)]!;
    expect(await previous.tryLead()).toBe(false);
    expect(previous.isLeader()).toBe(false);
  });
});

describe('when three app instances share one database', () => {
  let testDb: TestDatabase;
  const apps: FastifyInstance[] = [];
  const extra: Database[] = [];
  beforeAll(async () => {
    testDb = await createTestDatabase();
    const config = testConfig({ HOLD_SWEEP_SECONDS: '1' });
    for (let i = 0; i < 3; i++) {
      const database = testDb.url ? await openDatabase({ databaseUrl: testDb.url, poolSize: 2 }) : testDb.database;
      if (testDb.url) extra.push(database);
      apps.push(await buildApp({ config, database, logger: false }));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await Promise.all(extra.map((database) => database.close()));
    await testDb.drop();
  });

  const sweeps = () => apps.map((app) => app.holdSweeper.runs);
  async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  it('then only one of them sweeps, and another takes over when it closes', async () => {
    await until(() => sweeps().reduce((a, b) => a + b, 0) >= 3);
    const sweepers = apps.filter((app) => app.holdSweeper.runs > 0);
    expect(sweepers).toHaveLength(1);
    const leader = sweepers[0]!;
    expect(leader.holdSweeper.lease.isLeader()).toBe(true);

    // A closing leader gives the lease up: one of the other two sweeps from then on, alone.
    const rest = apps.filter((app) => app !== leader);
    const before = rest.map((app) => app.holdSweeper.runs);
    await leader.close();
    await until(() => rest.some((app, i) => app.holdSweeper.runs >= before[i]! + 3));
    const successors = rest.filter((app, i) => app.holdSweeper.runs > before[i]!);
    expect(successors).toHaveLength(1);
  }, 30_000);
});
