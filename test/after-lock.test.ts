import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// Database.preparedAfterLock: the lock, then the statement, in one transaction whose statement sees every
// row committed while it waited for the lock (the order batch of a limited event counts a buyer's seats so).
describe('when a statement runs after a lock (preparedAfterLock)', () => {
  let test: TestDatabase;
  const lock = { text: 'SELECT id FROM probe_locks WHERE id = $1 FOR UPDATE', values: [1] };
  const count = 'SELECT count(*)::int AS n FROM probe_rows WHERE lock_id = $1';

  beforeAll(async () => {
    test = await createTestDatabase();
    await test.database.prepared('probe_setup_1', 'CREATE TABLE probe_locks (id int PRIMARY KEY)', []);
    await test.database.prepared('probe_setup_2', 'CREATE TABLE probe_rows (lock_id int NOT NULL, n int UNIQUE)', []);
    await test.database.prepared('probe_setup_3', 'INSERT INTO probe_locks VALUES (1)', []);
  });
  afterAll(() => test?.drop());

  it('then it answers with the rows of the statement, not of the lock, again and again (parsed once)', async () => {
    for (let i = 0; i < 3; i++) {
      const rows = await test.database.preparedAfterLock<{ n: number }>(lock, 'probe_count', count, [1]);
      expect(rows).toEqual([{ n: 0 }]);
    }
  });

  it('then a lock that finds no row still runs the statement, which answers for itself', async () => {
    const rows = await test.database.preparedAfterLock<{ n: number }>({ ...lock, values: [2] }, 'probe_count', count, [2]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('then a statement that fails undoes both, and the next one runs', async () => {
    const insert = 'INSERT INTO probe_rows (lock_id, n) SELECT $1, unnest($2::int[]) RETURNING n';
    await expect(test.database.preparedAfterLock(lock, 'probe_insert', insert, [1, '{7,7}'])).rejects.toThrow(/duplicate key/);
    expect(await test.database.preparedAfterLock(lock, 'probe_count', count, [1])).toEqual([{ n: 0 }]);
    expect(await test.database.preparedAfterLock(lock, 'probe_insert', insert, [1, '{7}'])).toEqual([{ n: 7 }]);
    expect(await test.database.preparedAfterLock(lock, 'probe_count', count, [1])).toEqual([{ n: 1 }]);
  });

  // A lone statement's snapshot is taken before it waits for a lock; this one's is taken after.
  it.skipIf(!process.env.DATABASE_URL)('then the statement sees what a transaction holding the lock committed while it waited', async () => {
    const holder = new pg.Client({ connectionString: test.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM probe_locks WHERE id = 1 FOR UPDATE');
      await holder.query('INSERT INTO probe_rows (lock_id, n) VALUES (1, 100), (1, 101)');
      const waiting = test.database.preparedAfterLock<{ n: number }>(lock, 'probe_count', count, [1]);
      const settled = await Promise.race([waiting.then(() => 'answered'), new Promise((resolve) => setTimeout(resolve, 300, 'waiting'))]);
      expect(settled).toBe('waiting');
      await holder.query('COMMIT');
      expect(await waiting).toEqual([{ n: 3 }]);
    } finally {
      await holder.end();
    }
  });

  // The order batch is a data-modifying WITH: its snapshot is taken when it runs, not when it is bound.
  it.skipIf(!process.env.DATABASE_URL)('then a data-modifying statement also counts what was committed while it waited', async () => {
    const holder = new pg.Client({ connectionString: test.url });
    await holder.connect();
    const countAndWrite = `WITH seen AS (SELECT count(*)::int AS n FROM probe_rows WHERE lock_id = $1),
      written AS (INSERT INTO probe_rows (lock_id, n) SELECT $1, 1000 + seen.n FROM seen RETURNING n)
      SELECT seen.n FROM seen, written`;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM probe_locks WHERE id = 1 FOR UPDATE');
      await holder.query('INSERT INTO probe_rows (lock_id, n) VALUES (1, 200)');
      const waiting = test.database.preparedAfterLock<{ n: number }>(lock, 'probe_count_and_write', countAndWrite, [1]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await holder.query('COMMIT');
      expect(await waiting).toEqual([{ n: 4 }]);
    } finally {
      await holder.end();
    }
  });
});
