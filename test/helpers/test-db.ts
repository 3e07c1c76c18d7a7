import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
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

export interface InventoryDrift {
  id: number;
  tickets_sold: number;
  tickets_held: number;
  total_tickets: number;
  booked: number;
  pending: number;
}

/**
 * Events whose counters disagree with their rows (tickets_sold = booked tickets, tickets_held = seats of
 * pending orders) or exceed capacity: always empty, or a bug.
 */
export function findInventoryDrift(database: Database): Promise<InventoryDrift[]> {
  return queryRows<InventoryDrift>(
    database.db,
    sql`SELECT e.id, e.tickets_sold, e.tickets_held, e.total_tickets, b.booked, p.pending
        FROM events e,
          LATERAL (SELECT count(*)::int AS booked FROM tickets t WHERE t.event_id = e.id AND t.status = 'booked') b,
          LATERAL (SELECT COALESCE(sum(o.quantity), 0)::int AS pending FROM orders o WHERE o.event_id = e.id AND o.status = 'pending') p
        WHERE e.tickets_sold <> b.booked OR e.tickets_held <> p.pending OR e.tickets_sold + e.tickets_held > e.total_tickets`,
  );
}

export async function countBooked(database: Database, eventId: number): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    database.db,
    sql`SELECT count(*)::int AS n FROM tickets WHERE event_id = ${eventId} AND status = 'booked'`,
  );
  return rows[0]!.n;
}
