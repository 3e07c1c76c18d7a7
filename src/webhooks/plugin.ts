import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { LeasedJob } from '../db/leader.js';
import { queueFigures } from './queue.js';
import { startOutboxPurge } from './retention.js';
import { webhookRoutes } from './routes.js';
import type { TargetPolicy } from './target.js';
import { DeliveryWorker } from './worker.js';

export interface WebhooksOptions {
  config: Config;
  db: Db;
  /** The app's metrics registry (GET /metrics). */
  registry: Registry;
}

/**
 * Webhooks as one self-contained piece: the routes, the delivery worker of this process (started when the
 * app is ready, stopped first thing on close: attempts in flight are cut and sent again later, same id), the
 * retention purge beside it (one process at a time) and the metrics.
 */
export async function webhooksPlugin(app: FastifyInstance, { config, db, registry }: WebhooksOptions): Promise<void> {
  const policy: TargetPolicy = { allowPrivate: config.webhooks.allowPrivate, allowHttp: config.webhooks.allowHttp };
  const deliveries = new Counter({
    name: 'bookfast_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: succeeded, retrying (failed, tried again later), failed (for good)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Read from the database at scrape time; every process reads the same figure, so a cluster keeps the max.
  // A database that does not answer leaves the gauges unset rather than failing the whole scrape.
  const figures = () => queueFigures(db).catch(() => ({ pending: Number.NaN, oldest_seconds: Number.NaN }));
  new Gauge({
    name: 'bookfast_webhook_queue_depth',
    help: 'Webhooks not yet delivered (pending), all endpoints',
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.set((await figures()).pending);
    },
  });
  new Gauge({
    name: 'bookfast_webhook_oldest_pending_seconds',
    help: 'Age of the oldest undelivered webhook (0 when none)',
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.set((await figures()).oldest_seconds ?? 0);
    },
  });

  const worker = config.webhooks.worker
    ? new DeliveryWorker(db, {
        ...policy,
        concurrency: config.webhooks.concurrency,
        pollMs: config.webhooks.pollMs,
        timeoutMs: config.webhooks.timeoutMs,
        log: app.log,
        onOutcome: (outcome) => deliveries.inc({ outcome }),
      })
    : null;

  await app.register(webhookRoutes, { db, policy, queued: () => worker?.nudge() });
  if (worker) {
    let purge: LeasedJob | undefined;
    app.addHook('onReady', () => {
      worker.start();
      purge = startOutboxPurge(db, config.webhooks, config.webhooks.purgeSeconds, app.log);
    });
    app.addHook('preClose', async () => {
      await purge?.stop();
      await worker.stop();
    });
  }
}
