import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { startLeasedJob, type LeasedJob } from '../db/leader.js';

// The outbox is also the delivery history (GET /webhooks/{id}/deliveries), so settled rows stay a while,
// then go: delivered ones after WEBHOOKS_KEEP_DELIVERED_DAYS, failed ones after WEBHOOKS_KEEP_FAILED_DAYS,
// counted from their last attempt. Pending rows are never purged. Their attempts go with them (ON DELETE
// CASCADE). Small batches, each its own statement: no long lock, no huge transaction, however much piled up.

export interface RetentionSettings {
  keepDeliveredDays: number;
  keepFailedDays: number;
}

export interface PurgeOptions {
  /** Rows per statement. */
  batchSize?: number;
  /** Statements per status and run; the rest waits for the next run (a backlog drains over a few). */
  maxBatches?: number;
}

/** Deletes settled webhooks past their keep time, in batches; returns how many went. */
export async function purgeSettledWebhooks(db: Db, settings: RetentionSettings, { batchSize = 500, maxBatches = 20 }: PurgeOptions = {}): Promise<number> {
  let purged = 0;
  for (const [status, days] of [
    ['succeeded', settings.keepDeliveredDays],
    ['failed', settings.keepFailedDays],
  ] as const) {
    for (let batch = 0; batch < maxBatches; batch++) {
      const gone = await purgeBatch(db, status, days, batchSize);
      purged += gone;
      if (gone < batchSize) break;
    }
  }
  return purged;
}

// On webhook_outbox_settled_idx (status, next_attempt_at: a settled row's last attempt). SKIP LOCKED: a row a
// replay is requeueing right now is left for the next run; one requeued before the lock fails the re-checked
// status and stays.
async function purgeBatch(db: Db, status: 'succeeded' | 'failed', days: number, limit: number): Promise<number> {
  const rows = await queryRows<{ n: number | string }>(
    db,
    sql`WITH doomed AS (
          SELECT id FROM webhook_outbox
          WHERE status = ${status} AND next_attempt_at < now() - make_interval(days => ${days}::int)
          ORDER BY next_attempt_at LIMIT ${limit}::int
          FOR UPDATE SKIP LOCKED
        ), gone AS (
          DELETE FROM webhook_outbox o USING doomed WHERE o.id = doomed.id RETURNING o.id
        )
        SELECT count(*) AS n FROM gone`,
  );
  return Number(rows[0]!.n);
}

/**
 * Purges every `everySeconds` in the background, in one process at a time across hosts: the holder of the
 * 'webhook-purge' lease. Safe twice anyway (SKIP LOCKED, and a row deletes once).
 */
export function startOutboxPurge(db: Db, settings: RetentionSettings, everySeconds: number, log: FastifyBaseLogger): LeasedJob {
  return startLeasedJob(
    db,
    'webhook-purge',
    everySeconds * 1000,
    async () => {
      const purged = await purgeSettledWebhooks(db, settings);
      if (purged > 0) log.info({ purged }, 'webhooks: purged settled deliveries past their retention');
    },
    (error) => log.warn({ err: error }, 'webhooks: purge failed; retrying at the next tick'),
  );
}
