import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Db } from './drizzle.js';
import * as schema from './schema.js';

// Reads that may be a moment old (lists, event pages, stats, exports) go to a streaming replica while it is
// up and close behind; otherwise to the primary. Nothing that decides a sale, and no read that must see the
// caller's own write, uses this route.

export interface ReadRoute {
  /** A Drizzle database for read-only statements: the replica when usable, else the primary. */
  readonly db: Db;
  usingReplica(): boolean;
  /** Called when reads move to or from the replica, with the reason (for the log). */
  onSwitch(listener: (usingReplica: boolean, reason: string) => void): void;
  close(): Promise<void>;
}

const CHECK_INTERVAL_MS = 1_000;

// Replay lag as the time since the last replayed commit, but 0 when everything received is replayed (an idle
// primary writes nothing, and its replica is then exactly as new however old its last commit is).
const LAG_SQL = `SELECT pg_is_in_recovery() AS standby,
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END::float8 AS lag_ms`;

/** Routes read-only statements to the replica at `readUrl`, falling back to `primary`; checked every second. */
export function routeReads(primary: pg.Pool, readUrl: string, maxLagMs: number): ReadRoute {
  // A direct connection to the replica (not through a transaction-mode pooler): it takes the statement timeout.
  const replica = new pg.Pool({ connectionString: readUrl, max: 4, connectionTimeoutMillis: 1_000, statement_timeout: 15_000, application_name: 'bookfast-read' });
  replica.on('error', () => undefined);
  // A connection lost while checked out must not become an uncaught 'error' either (as in client.ts).
  replica.on('connect', (client) => client.on('error', () => undefined));
  const listeners: ((usingReplica: boolean, reason: string) => void)[] = [];
  // Until the first check says otherwise, the primary answers.
  let healthy = false;
  const switchTo = (usable: boolean, reason: string) => {
    if (usable === healthy) return;
    healthy = usable;
    for (const listener of listeners) listener(usable, reason);
  };

  const check = async () => {
    try {
      const { rows } = await replica.query<{ standby: boolean; lag_ms: number }>(LAG_SQL);
      const { standby, lag_ms: lagMs } = rows[0]!;
      if (!standby) switchTo(false, 'DATABASE_READ_URL is not a standby');
      else if (lagMs > maxLagMs) switchTo(false, `replica ${Math.round(lagMs)} ms behind (DATABASE_READ_MAX_LAG_MS=${maxLagMs})`);
      else switchTo(true, `replica ${Math.round(lagMs)} ms behind`);
    } catch (error) {
      switchTo(false, `replica unreachable: ${(error as Error).message}`);
    }
  };
  let checking: Promise<void> | undefined;
  const checkNow = () => {
    checking ??= check().finally(() => (checking = undefined));
  };
  checkNow();
  const timer = setInterval(checkNow, CHECK_INTERVAL_MS);
  timer.unref();

  // What drizzle calls: a statement the replica fails (down, cancelled by recovery) is run on the primary.
  const query = async (config: pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> => {
    if (!healthy) return primary.query(config, values);
    try {
      return await replica.query(config, values);
    } catch (error) {
      switchTo(false, `replica failed a read: ${(error as Error).message}`);
      return primary.query(config, values);
    }
  };
  const db = drizzle(new RoutingClient(query) as unknown as pg.Pool, { schema }) as unknown as Db;
  return {
    db,
    usingReplica: () => healthy,
    onSwitch: (listener) => listeners.push(listener),
    async close() {
      clearInterval(timer);
      await checking;
      await replica.end();
    },
  };
}

// A class, so drizzle takes it for a client (it inspects plain objects as its own config). Drizzle's
// node-postgres session sends every statement as a query config and its parameters.
class RoutingClient {
  constructor(readonly query: (config: pg.QueryConfig, values?: unknown[]) => Promise<pg.QueryResult>) {}
}
