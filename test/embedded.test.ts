import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../src/db/client.js';

// The embedded database runs on its own thread (src/db/embedded.ts): the server's event loop must stay free
// while a statement runs, and a transaction must still see only its own statements.
describe('the embedded database on its worker thread', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({});
    await database.migrate();
    await database.db.execute(sql`CREATE TABLE IF NOT EXISTS embedded_probe (n int PRIMARY KEY)`);
  });
  afterAll(() => database.close());

  it('when a statement runs for a second, then a timer due meanwhile fires before it ends', async () => {
    let statementDone = false;
    const statement = database.db.execute(sql`SELECT pg_sleep(1)`).then(() => (statementDone = true));
    // On the event loop's own thread the timer could only fire once the statement had returned.
    const doneWhenTimerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(statementDone), 50));
    await statement;
    expect(doneWhenTimerFired).toBe(false);
  });

  it('when a transaction is open, then a statement from outside waits for its commit and sees all of it', async () => {
    let outside: Promise<{ n: number }[]> | undefined;
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO embedded_probe VALUES (1)`);
      outside = queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM embedded_probe`);
      // Give the outside statement every chance to run in the middle of the transaction.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await tx.execute(sql`INSERT INTO embedded_probe VALUES (2)`);
      const inside = await queryRows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM embedded_probe`);
      expect(inside[0]!.n).toBe(2);
    });
    expect((await outside!)[0]!.n).toBe(2);
  });

  it('when a transaction throws, then none of it is kept and the next statements run', async () => {
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO embedded_probe VALUES (10)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const rows = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM embedded_probe WHERE n = 10`);
    expect(rows[0]!.n).toBe(0);
  });

  it('when a statement breaks a constraint, then the error carries its SQLSTATE code', async () => {
    await database.db.execute(sql`INSERT INTO embedded_probe VALUES (20)`);
    const failure = await database.db.execute(sql`INSERT INTO embedded_probe VALUES (20)`).catch((error: unknown) => error);
    const cause = (failure as { cause?: { code?: string } }).cause ?? (failure as { code?: string });
    expect(cause.code).toBe('23505');
  });
});
