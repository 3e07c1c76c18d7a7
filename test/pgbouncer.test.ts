import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ConfigError } from '../src/config.js';
import { openDatabase, queryRows, type Database } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { openLive } from './helpers/live.js';
import { postOverHttp } from './helpers/orders.js';
import { pgBouncerMissing, startPgBouncer, type PgBouncer } from './helpers/pgbouncer.js';
import { tally } from './helpers/tally.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './helpers/test-db.js';

// Debian 12's PgBouncer 1.18 in transaction mode: no named prepared statements, no session SETs or startup
// parameters, no LISTEN, no session advisory locks. BookFast with DATABASE_POOLER=pgbouncer must still sell
// exactly the seats it has, keep its timeouts in force, and answer 503 (never 500) when one fires.
const STATEMENT_TIMEOUT_MS = 2_000;
const missing = pgBouncerMissing();
if (missing) console.log(`pgbouncer.test.ts skipped: ${missing}`);

describe('when DATABASE_POOLER=pgbouncer is set without DATABASE_DIRECT_URL or REDIS_URL', () => {
  it('then the configuration is refused, naming the two ways live seats can work', () => {
    expect(() => testConfig({ DATABASE_URL: 'postgres://x@127.0.0.1:6432/db', DATABASE_POOLER: 'pgbouncer' })).toThrow(ConfigError);
    expect(() => testConfig({ DATABASE_URL: 'postgres://x@127.0.0.1:6432/db', DATABASE_POOLER: 'pgbouncer' })).toThrow(
      /DATABASE_DIRECT_URL .* or REDIS_URL/,
    );
  });
});

describe.skipIf(missing)('when BookFast runs through PgBouncer in transaction mode', () => {
  let testDb: TestDatabase;
  let bouncer: PgBouncer;
  const apps: { app: FastifyInstance; database: Database; baseUrl: string }[] = [];
  let owner: TestUser;
  let buyers: TestUser[];
  const secretKey = randomBytes(32).toString('hex');

  const admin = async <T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  const roleTimeouts = (database: string) =>
    `ALTER ROLE CURRENT_USER IN DATABASE ${database} SET statement_timeout = '${STATEMENT_TIMEOUT_MS}ms';` +
    `ALTER ROLE CURRENT_USER IN DATABASE ${database} SET lock_timeout = '10s';` +
    `ALTER ROLE CURRENT_USER IN DATABASE ${database} SET idle_in_transaction_session_timeout = '30s'`;

  async function startApp(): Promise<(typeof apps)[number]> {
    const pooledUrl = bouncer.pooled(testDb.url!);
    const config = testConfig({
      DATABASE_URL: pooledUrl,
      DATABASE_POOLER: 'pgbouncer',
      SECRET_KEY: secretKey,
      // Live seats: Redis when there is one, else LISTEN on the direct connection.
      ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : { DATABASE_DIRECT_URL: testDb.url! }),
    });
    const database = await openDatabase({ databaseUrl: pooledUrl, pooler: 'pgbouncer', directUrl: config.databaseDirectUrl, poolSize: 8 });
    const app = await buildApp({ config, database, logger: false });
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const started = { app, database, baseUrl };
    apps.push(started);
    return started;
  }

  beforeAll(async () => {
    testDb = await createTestDatabase();
    await admin(testDb.url!, roleTimeouts(new URL(testDb.url!).pathname.slice(1)));
    // Two server connections for up to 16 client connections: statements of different clients share them.
    bouncer = await startPgBouncer(process.env.DATABASE_URL!, { poolSize: 2 });
    const { app } = await startApp();
    await startApp();
    owner = await registerAndLogin(app);
    buyers = await Promise.all(Array.from({ length: 40 }, () => registerAndLogin(app)));
  }, 120_000);

  afterAll(async () => {
    for (const { app, database } of apps) {
      await app.close();
      await database.close();
    }
    await bouncer?.stop();
    await testDb?.drop();
  });

  it('then start-up refuses a role without timeouts, saying what to run', async () => {
    // The base database has no role defaults: the pooler would run statements with no timeout at all.
    const opening = openDatabase({ databaseUrl: bouncer.pooled(process.env.DATABASE_URL!), pooler: 'pgbouncer', poolSize: 1 });
    await expect(opening).rejects.toThrow(/statement_timeout.*ALTER ROLE/);
  });

  it('then the role timeouts are in force through the pooler: a statement past statement_timeout is cancelled', async () => {
    const { database } = apps[0]!;
    const error = await database.db.execute(sql`SELECT pg_sleep(${(STATEMENT_TIMEOUT_MS / 1000) * 3})`).then(
      () => undefined,
      (failure: { cause?: { code?: string } }) => failure,
    );
    expect(error?.cause?.code).toBe('57014');
  });

  it('then 300 buyers and 20 orders through two apps sell exactly the seats, with no 500', async () => {
    const event = await createEvent(apps[0]!.app, owner, { total_tickets: 100 });
    const books = Array.from({ length: 300 }, (_, i) =>
      bookOverHttp(apps[i % 2]!.baseUrl, buyers[i % buyers.length]!.token, event.id),
    );
    const orders = Array.from({ length: 20 }, (_, i) =>
      postOverHttp(apps[i % 2]!.baseUrl, '/orders', buyers[(i * 7) % buyers.length]!.token, { event_id: event.id, quantity: 2 }),
    );
    const booked = await Promise.all(books);
    const ordered = await Promise.all(orders);
    const statuses = [...booked, ...ordered].map((result) => result.status);
    // Sold out is 400; nothing else (no 500 from a named statement on a shared server connection, no 503).
    expect(statuses.filter((status) => status !== 200 && status !== 400), JSON.stringify(tally(statuses))).toEqual([]);
    const seatsTaken = booked.filter((r) => r.status === 200).length + 2 * ordered.filter((r) => r.status === 200).length;
    expect(seatsTaken).toBe(100);
    const [row] = await queryRows<{ sold: number; held: number; tickets: number }>(
      testDb.database.db,
      sql`SELECT tickets_sold AS sold, tickets_held AS held,
                 (SELECT count(*)::int FROM tickets WHERE event_id = ${event.id} AND status = 'booked') AS tickets
          FROM events WHERE id = ${event.id}`,
    );
    expect(row!.sold + row!.held).toBe(100);
    expect(row!.tickets).toBe(row!.sold);
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
  });

  // The counted batch sends the event lock and the batch unnamed, in one Sync: one server connection, one
  // transaction, even when the pooler hands the next transaction to another.
  it('then on an event with max_per_user, 3 bookings each of 40 buyers through two apps give each exactly 2', async () => {
    const event = await createEvent(apps[0]!.app, owner, { total_tickets: 1000, max_per_user: 2 });
    const books = Array.from({ length: 120 }, (_, i) => bookOverHttp(apps[i % 2]!.baseUrl, buyers[i % buyers.length]!.token, event.id));
    const statuses = (await Promise.all(books)).map((result) => result.status);
    expect(tally(statuses)).toEqual({ 200: 80, 409: 40 });
    const perBuyer = await queryRows<{ n: number }>(
      testDb.database.db,
      sql`SELECT count(*)::int AS n FROM tickets WHERE event_id = ${event.id} AND status = 'booked' GROUP BY user_id`,
    );
    expect(perBuyer.map((row) => row.n)).toEqual(Array.from({ length: 40 }, () => 2));
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
  });

  it('then a booking stuck past statement_timeout answers 503, and the next one books', async () => {
    const event = await createEvent(apps[0]!.app, owner, { total_tickets: 5 });
    // Another session holds the event's row lock: the booking statement waits, and statement_timeout (2 s,
    // below lock_timeout's 10 s) cancels it.
    const blocker = new pg.Client({ connectionString: testDb.url! });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM events WHERE id = $1 FOR UPDATE', [event.id]);
      const stuck = await bookOverHttp(apps[0]!.baseUrl, buyers[0]!.token, event.id);
      expect(stuck.status).toBe(503);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await bookOverHttp(apps[0]!.baseUrl, buyers[0]!.token, event.id)).status).toBe(200);
  });

  it('then a booking on one app reaches a live stream on the other', async () => {
    const event = await createEvent(apps[0]!.app, owner, { total_tickets: 3 });
    const stream = await openLive(apps[1]!.baseUrl, event.id);
    try {
      expect((await stream.next()).tickets_available).toBe(3);
      expect((await bookOverHttp(apps[0]!.baseUrl, buyers[1]!.token, event.id)).status).toBe(200);
      let seats = await stream.next();
      while (seats.tickets_available !== 2) seats = await stream.next();
      expect(seats.tickets_sold).toBe(1);
    } finally {
      stream.close();
    }
  });

  it('when db:migrate runs with DATABASE_DIRECT_URL on a role without timeouts, then it sets them and the app starts through the pooler', async () => {
    const name = `bookfast_test_${randomBytes(6).toString('hex')}`;
    const base = process.env.DATABASE_URL!;
    await admin(base, `CREATE DATABASE ${name}`);
    try {
      const direct = new URL(base);
      direct.pathname = `/${name}`;
      const env = { ...process.env, DATABASE_URL: bouncer.pooled(direct.toString()), DATABASE_POOLER: 'pgbouncer', DATABASE_DIRECT_URL: direct.toString() };
      execFileSync(process.execPath, ['--import', 'tsx', 'src/db/migrate-cli.ts'], { env, stdio: 'pipe' });
      const settings = await admin<{ setconfig: string[] }>(
        direct.toString(),
        'SELECT setconfig FROM pg_db_role_setting WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER) AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())',
      );
      expect(settings.flatMap((row) => row.setconfig).sort()).toEqual(['idle_in_transaction_session_timeout=30000ms', 'lock_timeout=10000ms', 'statement_timeout=15000ms']);
      const database = await openDatabase({ databaseUrl: bouncer.pooled(direct.toString()), pooler: 'pgbouncer', poolSize: 1 });
      await database.close();
    } finally {
      await admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('when the role already has a timeout of its own, then start-up keeps it', async () => {
    const name = `bookfast_test_${randomBytes(6).toString('hex')}`;
    const base = process.env.DATABASE_URL!;
    await admin(base, `CREATE DATABASE ${name}`);
    try {
      const direct = new URL(base);
      direct.pathname = `/${name}`;
      await admin(direct.toString(), `ALTER ROLE CURRENT_USER IN DATABASE ${name} SET statement_timeout = '3s'`);
      const database = await openDatabase({ databaseUrl: bouncer.pooled(direct.toString()), pooler: 'pgbouncer', directUrl: direct.toString(), poolSize: 1 });
      const [row] = await queryRows<{ statement_timeout: string; lock_timeout: string }>(database.db, sql`SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('lock_timeout') AS lock_timeout`);
      await database.close();
      expect(row).toEqual({ statement_timeout: '3s', lock_timeout: '10s' });
    } finally {
      await admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('then three processes migrating a new database at once through the pooler all succeed, once', async () => {
    const name = `bookfast_test_${randomBytes(6).toString('hex')}`;
    const base = process.env.DATABASE_URL!;
    await admin(base, `CREATE DATABASE ${name}`);
    try {
      const direct = new URL(base);
      direct.pathname = `/${name}`;
      await admin(direct.toString(), roleTimeouts(name));
      const databases = await Promise.all(
        [1, 2, 3].map(() => openDatabase({ databaseUrl: bouncer.pooled(direct.toString()), pooler: 'pgbouncer', poolSize: 2 })),
      );
      try {
        await Promise.all(databases.map((database) => database.migrate()));
        const [applied] = await queryRows<{ n: number; journal: number }>(
          databases[0]!.db,
          sql`SELECT count(*)::int AS n, count(DISTINCT hash)::int AS journal FROM drizzle.__drizzle_migrations`,
        );
        expect(applied!.n).toBe(applied!.journal);
        expect(applied!.n).toBeGreaterThan(0);
      } finally {
        await Promise.all(databases.map((database) => database.close()));
      }
    } finally {
      await admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
