import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Database } from '../db/client.js';

export interface DatabaseProbe {
  /** Resolves when the database answers; rejects when it does not. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Asks the database whether it answers. Concurrent callers share the one query in flight, so a storm of
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
      await (await own).query('SELECT 1');
    } catch (error) {
      dropOwn();
      throw error;
    }
  };

  return {
    check() {
      inFlight ??= (poolBusy() ? askOwn() : database.db.execute(sql`SELECT 1`).then(() => undefined)).finally(() => {
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
