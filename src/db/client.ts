import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { queryAfterLock, type LockStatement } from './after-lock.js';
import type { Db } from './drizzle.js';
import { EmbeddedClient } from './embedded.js';
import { countNotPrimaryDrops, isNotPrimary } from './not-primary.js';
import { routeReads, type ReadRoute } from './replica.js';
import { setRoleTimeoutsWhereOff } from './role-timeouts.js';
import * as schema from './schema.js';

export type { Db };

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /**
   * A URL that keeps a session (PostgreSQL only), for a connection outside the pool: the live-seats LISTEN.
   * Unset behind a transaction-mode pooler without DATABASE_DIRECT_URL, where LISTEN would not work.
   */
  readonly url: string | undefined;
  /** Read-only lists may read here: a replica when DATABASE_READ_URL is set and healthy, else `db`. */
  readonly reads: ReadRoute | undefined;
  /**
   * Runs a named statement that the server parses and plans once per connection, then reuses: for the
   * booking hot path, where planning would otherwise cost as much as executing. Behind a transaction-mode
   * pooler the statement is unnamed (parsed each time): its server connection changes between statements.
   */
  prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]>;
  /**
   * Runs `lock` and then the statement (prepared as `prepared` does) in one transaction, the statement's
   * snapshot taken once `lock` holds its rows; on a server, both go in one round trip (after-lock.ts).
   */
  preparedAfterLock<T>(lock: LockStatement, name: string, text: string, values: unknown[]): Promise<T[]>;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Connection pool use, for metrics; only a PostgreSQL server has a pool. */
  stats?(): PoolStats;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  /** Connections destroyed because their server was not the primary (a failover), and runs of them. */
  notPrimaryDrops: number;
  failoversSeen: number;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files; omit for an in-memory one (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** How long a request may wait for a pooled connection before it fails (503) rather than hangs. */
  connectTimeoutMs?: number;
  /** 'pgbouncer': `databaseUrl` is PgBouncer in transaction mode. */
  pooler?: 'none' | 'pgbouncer';
  /** The primary without the pooler: migrations (session advisory lock) and LISTEN. */
  directUrl?: string | undefined;
  readUrl?: string | undefined;
  readMaxLagMs?: number;
}

const MIGRATIONS_FOLDER = findMigrationsFolder();
// Any constant will do; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_201_914;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options.dataDir);
}

// Sent as startup parameters on a direct connection. PgBouncer refuses them (and would not keep them per
// client anyway), so behind it they must be the role's defaults: set through DATABASE_DIRECT_URL when there
// is one, else checkPoolerTimeouts says at start-up what to run.
const SESSION_TIMEOUTS = { statement_timeout: 15_000, lock_timeout: 10_000, idle_in_transaction_session_timeout: 30_000 };

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const behindPooler = options.pooler === 'pgbouncer';
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 8,
    // A database that is down or a pool that is exhausted must fail fast, not hang the request.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
    ...(behindPooler ? {} : SESSION_TIMEOUTS),
    application_name: 'bookfast',
  });
  // An idle client that loses its server emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  // So does a client checked out of the pool (inside a transaction, between two statements): it gets its own
  // listener for life. Its statement fails with the error (503); released, it is no longer queryable, so the
  // pool destroys it instead of reusing it and opens a new connection when one is needed.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const notPrimary = countNotPrimaryDrops(pool);
  if (behindPooler) {
    try {
      if (options.directUrl) await setRoleTimeoutsWhereOff(options.directUrl, SESSION_TIMEOUTS);
      await checkPoolerTimeouts(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  const db = drizzleNodePg(pool, { schema }) as unknown as Db;
  const reads = options.readUrl ? routeReads(pool, options.readUrl, options.readMaxLagMs ?? 2_000) : undefined;
  return {
    db,
    kind: 'postgres',
    url: options.directUrl ?? (behindPooler ? undefined : url),
    reads,
    stats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      notPrimaryDrops: notPrimary.drops,
      failoversSeen: notPrimary.episodes,
    }),
    prepared: behindPooler
      ? async <T>(_name: string, text: string, values: unknown[]) => (await pool.query<T & pg.QueryResultRow>(text, values)).rows
      : async <T>(name: string, text: string, values: unknown[]) => (await pool.query<T & pg.QueryResultRow>({ name, text, values })).rows,
    preparedAfterLock: (lock, name, text, values) => queryAfterLock(pool, lock, behindPooler ? { text, values } : { name, text, values }),
    migrate: () => migratePostgres(pool, options.directUrl, behindPooler),
    async close() {
      await reads?.close();
      await pool.end();
    },
  };
}

// Several processes may start at once (WORKERS, a rolling deploy, several hosts): an advisory lock lets one
// migrate. A session lock needs a session: on a direct connection it is held across drizzle's statements;
// through a transaction-mode pooler everything runs in one transaction holding a transaction-scoped lock
// (drizzle's own BEGIN inside it only warns, and its COMMIT ends the transaction and the lock together).
async function migratePostgres(pool: pg.Pool, directUrl: string | undefined, behindPooler: boolean): Promise<void> {
  if (directUrl || !behindPooler) {
    const direct = directUrl ? new pg.Client({ connectionString: directUrl, application_name: 'bookfast-migrate' }) : undefined;
    await direct?.connect();
    const client = direct ?? (await pool.connect());
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      await migrateNodePg(drizzleNodePg(client), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      if (direct) await direct.end();
      else (client as pg.PoolClient).release();
    }
    return;
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The role's timeouts (15 s) must not cut off a wait for another host's migration, nor a long migration.
    await client.query('SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await migrateNodePg(drizzleNodePg(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Behind PgBouncer the timeouts come from the role's (or database's) defaults: refuse to run without them. */
async function checkPoolerTimeouts(pool: pg.Pool): Promise<void> {
  const names = Object.keys(SESSION_TIMEOUTS);
  const { rows } = await pool.query<{ name: string; setting: string }>(
    'SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])',
    [names],
  );
  const off = names.filter((name) => rows.find((row) => row.name === name)?.setting === '0');
  if (off.length === 0) return;
  const advice = names.map((name) => `${name} = '${SESSION_TIMEOUTS[name as keyof typeof SESSION_TIMEOUTS]}ms'`).join(', ');
  throw new Error(
    `DATABASE_POOLER=pgbouncer: ${off.join(', ')} not set for this role (PgBouncer cannot pass them per client); ` +
      `run ALTER ROLE <user> IN DATABASE <db> SET ... for each of: ${advice}`,
  );
}

// PGlite runs on its own thread (see embedded.ts); the folder lock is taken here, by the process that owns it.
async function openPglite(dataDir: string | undefined): Promise<Database> {
  let release: (() => Promise<void>) | undefined;
  let client: EmbeddedClient;
  if (dataDir) {
    const pgdata = join(dataDir, 'pgdata');
    // PGlite creates neither parent folders nor a lock: two processes on one folder would corrupt it.
    mkdirSync(pgdata, { recursive: true });
    try {
      release = await lockfile.lock(dataDir, { lockfilePath: join(dataDir, 'pglite.lock'), stale: 10_000 });
    } catch {
      throw new Error(
        `the embedded database in ${dataDir} is in use by another process; stop it, or set DATA_DIR to another folder`,
      );
    }
    try {
      client = await EmbeddedClient.open(pgdata);
    } catch (error) {
      await release();
      throw error;
    }
  } else {
    client = await EmbeddedClient.open(undefined);
  }
  // Drizzle's PGlite driver calls only query() and transaction(), which EmbeddedClient forwards to the thread.
  const db = drizzlePglite({ client: client as unknown as PGlite, schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    url: undefined,
    reads: undefined,
    prepared: <T>(name: string, text: string, values: unknown[]) => client.prepared<T>(name, text, values),
    // One connection: a transaction's statements are parsed each time (the embedded database has no pool to fill).
    preparedAfterLock: <T>(lock: LockStatement, _name: string, text: string, values: unknown[]) =>
      client.transaction(async (tx) => {
        await tx.query(lock.text, lock.values);
        return (await tx.query<T>(text, values)).rows;
      }),
    migrate: () => client.migrate(MIGRATIONS_FOLDER),
    async close() {
      try {
        await client.close();
      } finally {
        await release?.();
      }
    },
  };
}

// One Drizzle instance per pooled connection, made once: transactions run their statements through it.
const onConnection = new WeakMap<pg.PoolClient, Db>();

/**
 * Runs `work` in one transaction on one connection and commits, or rolls back and rethrows. Unlike Drizzle's
 * own db.transaction, a connection that fails at BEGIN is still released (Drizzle's leaks it, and a few lost
 * connections then exhaust the pool for good), and one that failed is destroyed rather than pooled again.
 */
export async function transaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  const pool = (db as unknown as { $client?: unknown }).$client;
  // The embedded database is one connection, with nothing to leak.
  if (!(pool instanceof pg.Pool)) return db.transaction((tx) => work(tx));
  return onPooledTransaction(pool, (connection) => {
    let tx = onConnection.get(connection);
    if (!tx) onConnection.set(connection, (tx = drizzleNodePg(connection, { schema }) as unknown as Db));
    return work(tx);
  });
}

// BEGIN, the work, COMMIT on one pooled connection. A ROLLBACK that fails means the connection is gone or
// unusable, and a server that is not the primary refuses every write of the session: either way the
// connection is destroyed rather than pooled again, so the next one may reach the new primary.
async function onPooledTransaction<T>(pool: pg.Pool, work: (connection: pg.PoolClient) => Promise<T>): Promise<T> {
  const connection = await pool.connect();
  let broken: unknown;
  try {
    await connection.query('BEGIN');
    const result = await work(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
    if (isNotPrimary(error)) broken ??= error;
    throw error;
  } finally {
    connection.release(broken as Error | undefined);
  }
}

/** Runs a raw statement and returns its rows; pg and PGlite both answer with `{ rows }`. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

// The migrations ship beside package.json; this file runs from src/ (tsx, tests) or dist/src/ (npm start).
function findMigrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'drizzle');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('drizzle/ migrations folder not found beside package.json');
    dir = parent;
  }
}
