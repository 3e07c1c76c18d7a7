import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase, transaction } from '../src/db/client.js';
import { isNotPrimary } from '../src/db/not-primary.js';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent } from './helpers/factories.js';
import { postOverHttp } from './helpers/orders.js';

// A failover's window, on a plain PostgreSQL: HAProxy may send new connections to a node that holds the
// leader key but is still read-only. default_transaction_read_only on the database, with the app's sessions
// terminated, gives the app exactly that server (SQLSTATE 25006 on every write).
describe.skipIf(!process.env.DATABASE_URL)('when the database server is read-only (not the primary yet)', () => {
  const { t, crowd: buyers } = setUpTestApp({ crowd: 6, checkInventory: true });

  async function asAdmin<T>(work: (admin: pg.Client, name: string) => Promise<T>): Promise<T> {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      return await work(admin, new URL(t.testDb.url!).pathname.slice(1));
    } finally {
      await admin.end();
    }
  }

  /** Makes the throwaway database read-only (or writable again); `reconnect` ends the app's sessions too. */
  function setReadOnly(on: boolean, reconnect: boolean) {
    return asAdmin(async (admin, name) => {
      await admin.query(`ALTER DATABASE ${name} ${on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only'}`);
      if (reconnect) {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'bookfast%'`, [name]);
      }
    });
  }

  it('then POST /book and POST /orders answer 503 with Retry-After (never 500), ready says 503, and writes resume', async () => {
    // Arrange
    const event = await createEvent(t.app, buyers[0]!, { total_tickets: 50 });
    await setReadOnly(true, true);
    try {
      // Act
      const answers = await Promise.all(
        buyers.flatMap((buyer) => [
          postOverHttp(t.baseUrl, '/book', buyer.token, { event_id: event.id }),
          postOverHttp(t.baseUrl, '/orders', buyer.token, { event_id: event.id, quantity: 1 }),
        ]),
      );
      const ready = await fetch(`${t.baseUrl}/health/ready`);

      // Assert
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 503));
      expect(answers.every((a) => a.headers.get('retry-after') === '1')).toBe(true);
      expect(ready.status).toBe(503);
    } finally {
      await setReadOnly(false, false);
    }
    // The read-only sessions were dropped from the pool: the app writes again without being restarted.
    const after = await postOverHttp(t.baseUrl, '/book', buyers[0]!.token, { event_id: event.id });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect((await fetch(`${t.baseUrl}/health/ready`)).status).toBe(200);
    // What an operator sees: the dropped connections and one failover, on the app's own pool.
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(Number(/^bookfast_db_not_primary_drops_total (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(/^bookfast_db_failovers_seen_total (\S+)$/m.exec(metrics)?.[1]).toBe('1');
  });

  it('then a transaction that failed on it leaves the pool, so the next one reaches a writable session', async () => {
    // Arrange: a pool of one connection, opened while the server is read-only.
    const database = await openDatabase({ databaseUrl: t.testDb.url, poolSize: 1 });
    const write = () => transaction(database.db, (tx) => tx.execute(sql`UPDATE users SET email = email WHERE false`));
    try {
      await setReadOnly(true, false);
      const refused = await write().then(
        () => undefined,
        (error: unknown) => error,
      );
      await setReadOnly(false, false);

      // Act
      const retried = await write().then(
        () => 'committed',
        (error: unknown) => String(error),
      );

      // Assert
      expect((refused as { cause?: { code?: string } } | undefined)?.cause?.code ?? (refused as { code?: string })?.code).toBe('25006');
      expect(retried).toBe('committed');
      expect(database.stats?.()).toMatchObject({ notPrimaryDrops: 1, failoversSeen: 1 });
    } finally {
      await setReadOnly(false, false);
      await database.close();
    }
  });
});

describe('when an error names a state of a server that is not the primary', () => {
  it('then a read-only transaction, a server in recovery and a recovery conflict count, and other failures do not', () => {
    // Arrange: errors as pg raises them, and as Drizzle wraps them (the driver's error as its cause).
    const readOnly = Object.assign(new Error('cannot execute UPDATE in a read-only transaction'), { code: '25006' });
    const wrapped = new Error('Failed query: UPDATE ...', { cause: readOnly });
    const inRecovery = Object.assign(new Error('the database system is in recovery mode'), { code: '57P03' });
    const conflict = Object.assign(new Error('canceling statement due to conflict with recovery'), { code: '40001' });
    const serialization = Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' });
    const uniqueViolation = Object.assign(new Error('duplicate key value'), { code: '23505' });

    // Act
    const verdicts = [readOnly, wrapped, inRecovery, conflict, serialization, uniqueViolation, undefined].map(isNotPrimary);

    // Assert
    expect(verdicts).toEqual([true, true, true, true, false, false, false]);
  });
});
