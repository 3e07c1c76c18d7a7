import { sql } from 'drizzle-orm';
import pg from 'pg';
import { queryRows, transaction, type Database } from '../db/client.js';
import { NotPrimary } from '../db/not-primary.js';

export interface DatabaseProbe {
  /** Resolves when the database answers; rejects when it does not. */
  check(): Promise<void>;
  close(): Promise<void>;
}

// Ready means writes would succeed: a server that answers read-only (a standby, a node still being
// promoted) is not ready. The embedded database is never read-only: it is asked only whether it answers.
const ASK_WRITABLE = "SELECT current_setting('transaction_read_only') = 'on' AS read_only";

function checkWritable(rows: { read_only: boolean }[]): void {
  if (rows[0]?.read_only) throw new NotPrimary();
}

/**
 * Asks the database whether it answers, and (on a server) whether it takes writes. Concurrent callers share the one query in flight, so a storm of
 * health checks costs one round trip at a time. A busy pool (every connection taken, requests queued behind
 * a row lock) is not a database that is down: then the question goes over one connection of the probe's
 * own, opened on demand and kept, instead of queueing behind the requests.
 */
export function databaseProbe(database: Database, timeoutMs: number): DatabaseProbe {
  let inFlight: Promise<void> | undefined;
  let own: Promise<pg.Client> | undefined;

  const poolBusy = () => {
    const stats = database.stats?.();
    return database.url !== undefined && stats !== undefined && stats.total > 0 && stats.idle === 0;
  };
  const dropOwn = () => {
    const closing = own;
    own = undefined;
    void closing?.then((client) => client.end()).catch(() => undefined);
  };
  const askOwn = async () => {
    own ??= (async () => {
      const client = new pg.Client({
        connectionString: database.url,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: 'bookfast-health',
      });
      // A server that goes away emits here; the next check connects again.
      client.on('error', dropOwn);
      await client.connect();
      return client;
    })();
    try {
      checkWritable((await (await own).query<{ read_only: boolean }>(ASK_WRITABLE)).rows);
    } catch (error) {
      dropOwn();
      throw error;
    }
  };

  const askPool = async () => {
    if (database.kind === 'pglite') await database.db.execute(sql`SELECT 1`);
    // In a transaction, so that a read-only answer (NotPrimary) also drops the connection from the pool.
    else await transaction(database.db, async (tx) => checkWritable(await queryRows<{ read_only: boolean }>(tx, sql.raw(ASK_WRITABLE))));
  };

  return {
    check() {
      inFlight ??= (poolBusy() ? askOwn() : askPool()).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    async close() {
      const closing = own;
      own = undefined;
      await closing?.then((client) => client.end()).catch(() => undefined);
    },
  };
}
