import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { findInventoryDrift as findDrift, type InventoryDrift } from '../../src/inventory/audit.js';
import { openDatabase, queryRows, type Database } from '../../src/db/client.js';

export interface TestDatabase {
  database: Database;
  /** Set when the tests run on a real server: the throwaway database's URL, for extra processes. */
  url: string | undefined;
  drop(): Promise<void>;
}

/**
 * A freshly migrated database for one test file: a throwaway database on the server in DATABASE_URL, or
 * an in-memory embedded PostgreSQL (PGlite) when it is unset.
 */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({});
    await database.migrate();
    return { database, url: undefined, drop: () => database.close() };
  }
  const name = `bookfast_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: options.poolSize ?? 8 });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    async drop() {
      // A test may have closed it already (to simulate an outage); the database must go either way.
      await database.close().catch(() => undefined);
      await withAdmin(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin(serverUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Events whose counters disagree with their rows or exceed capacity: always empty, or a bug. The same check
 * operators run with `npm run audit:inventory`.
 */
export function findInventoryDrift(database: Database): Promise<InventoryDrift[]> {
  return findDrift(database.db);
}

export async function countBooked(database: Database, eventId: number): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    database.db,
    sql`SELECT count(*)::int AS n FROM tickets WHERE event_id = ${eventId} AND status = 'booked'`,
  );
  return rows[0]!.n;
}
