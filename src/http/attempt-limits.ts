import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

/** A limit on attempts per key: at most `max` in a window of `windowMs` that starts at the first attempt. */
export interface AttemptLimit {
  max: number;
  windowMs: number;
}

export interface Slot {
  /** False when the key has used up its attempts: the caller answers 429. */
  allowed: boolean;
  /** Milliseconds until the window ends. */
  ttlMs: number;
}

/**
 * Attempt counters in the database, shared by every process and host: the routes that use them (login,
 * registration, password change) pay for bcrypt anyway, so one upsert more costs little and needs no Redis.
 * A slot is taken BEFORE the work it guards, so parallel attempts cannot all pass one check.
 */
export class AttemptCounters {
  constructor(private readonly db: Db) {}

  /**
   * Counts one attempt. ON CONFLICT DO UPDATE locks the key's row, so concurrent attempts are counted one
   * after another: of any number at once, exactly `max` see allowed. Time is the database's, the same for
   * every host. A refused attempt is counted too (capped), so it cannot reopen the window.
   */
  async take(key: string, limit: AttemptLimit): Promise<Slot> {
    const rows = await queryRows<{ hits: number; ttl_ms: number | string }>(
      this.db,
      sql`INSERT INTO rate_limit_counters AS c (key, hits, reset_at)
          VALUES (${key}, 1, now() + ${limit.windowMs} * interval '1 millisecond')
          ON CONFLICT (key) DO UPDATE SET
            hits = CASE WHEN c.reset_at <= now() THEN 1 ELSE least(c.hits + 1, ${limit.max + 1}) END,
            reset_at = CASE WHEN c.reset_at <= now() THEN excluded.reset_at ELSE c.reset_at END
          RETURNING hits, ceil(extract(epoch FROM reset_at - now()) * 1000)::int AS ttl_ms`,
    );
    const row = rows[0]!;
    return { allowed: row.hits <= limit.max, ttlMs: Math.max(0, Number(row.ttl_ms)) };
  }

  /** Hands back a slot whose attempt was not judged (the work failed for another reason). */
  async giveBack(key: string): Promise<void> {
    await this.db.execute(sql`UPDATE rate_limit_counters SET hits = hits - 1 WHERE key = ${key} AND hits > 0`);
  }

  /** Forgets the key's attempts: a successful login clears its account's failures. */
  async reset(key: string): Promise<void> {
    await this.db.execute(sql`DELETE FROM rate_limit_counters WHERE key = ${key}`);
  }

  async purgeExpired(): Promise<void> {
    await this.db.execute(sql`DELETE FROM rate_limit_counters WHERE reset_at <= now()`);
  }
}
