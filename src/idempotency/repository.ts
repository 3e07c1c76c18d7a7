import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

// The idempotency_keys rows outside the selling statements: lookups, stored refusals and the purge. (A sale's
// own row is written by the statement that sells: inventory/idempotency-records.ts.)

const REPLAY_WINDOW = sql.raw(`interval '24 hours'`);

export interface Claim {
  userId: number;
  key: string;
  hash: string;
}

export interface Stored {
  request_hash: string;
  status_code: number;
  response: unknown;
}

/** Deletes keys past the 24-hour replay window (the hold sweeper calls it). */
export async function purgeExpiredIdempotencyKeys(db: Db): Promise<void> {
  await db.execute(sql`DELETE FROM idempotency_keys WHERE created_at <= now() - ${REPLAY_WINDOW}`);
}

// The key's outcome within the window; a row past it is deleted on the way, so the key can be recorded anew.
export async function findStored(db: Db, { userId, key }: Claim): Promise<Stored | null> {
  const rows = await queryRows<Stored>(
    db,
    sql`WITH past AS (
          DELETE FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key} AND created_at <= now() - ${REPLAY_WINDOW}
        )
        SELECT request_hash, status_code, response
        FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key} AND created_at > now() - ${REPLAY_WINDOW}`,
  );
  return rows[0] ?? null;
}

// A sale recorded meanwhile (another process) wins: the refusal is not stored over it.
export async function storeRefusal(db: Db, { userId, key, hash }: Claim, statusCode: number, payload: string): Promise<void> {
  await db.execute(
    sql`INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response)
        VALUES (${userId}, ${key}, ${hash}, ${statusCode}, ${payload}::jsonb)
        ON CONFLICT (user_id, key) DO NOTHING`,
  );
}
