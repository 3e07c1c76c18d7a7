import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { EmbeddedClient } from './embedded.js';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** The server's URL (PostgreSQL only), for a connection outside the pool: the live-seats LISTEN. */
  readonly url: string | undefined;
  /**
   * Runs a named statement that the server parses and plans once per connection, then reuses: for the
   * booking hot path, where planning would otherwise cost as much as executing.
   */
  prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]>;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Connection pool use, for metrics; only a PostgreSQL server has a pool. */
  stats?(): PoolStats;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files; omit for an in-memory one (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** How long a request may wait for a pooled connection before it fails (503) rather than hangs. */
  connectTimeoutMs?: number;
}

const MIGRATIONS_FOLDER = findMigrationsFolder();
// Any constant will do; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_201_914;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolSize ?? 8, options.connectTimeoutMs ?? 3_000)
    : openPglite(options.dataDir);
}

function openPostgres(url: string, poolSize: number, connectTimeoutMs: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // A database that is down or a pool that is exhausted must fail fast, not hang the request.
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 15_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 30_000,
    application_name: 'bookfast',
  });
  // An idle client that loses its server emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  const db = drizzleNodePg(pool, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    url,
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    prepared: async <T>(name: string, text: string, values: unknown[]) =>
      (await pool.query<T & pg.QueryResultRow>({ name, text, values })).rows,
    async migrate() {
      // Several processes may start at once (WORKERS, a rolling deploy): the advisory lock lets one migrate.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migrateNodePg(drizzleNodePg(client), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        client.release();
      }
    },
    close: () => pool.end(),
  };
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
    prepared: <T>(name: string, text: string, values: unknown[]) => client.prepared<T>(name, text, values),
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
