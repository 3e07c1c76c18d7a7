import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';

/**
 * Asks the database whether it answers. Concurrent callers share the one query in flight, so a storm of
 * health checks (load balancers, a benchmark) costs one round trip at a time, never a pool's worth.
 */
export function databaseProbe(db: Db): () => Promise<void> {
  let inFlight: Promise<void> | undefined;
  return () => {
    inFlight ??= db
      .execute(sql`SELECT 1`)
      .then(() => undefined)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
