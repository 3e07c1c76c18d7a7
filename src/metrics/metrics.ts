import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchReport } from '../inventory/seat-changes.js';
import type { Database, PoolStats } from '../db/client.js';
import { askPrimaryForClusterMetrics, shareWithPrimary } from './cluster.js';
import { Unauthorized } from '../errors.js';

/** What metrics hear from the inventory's channel (SeatChanges 'batchDone', 'refusedFromMemory'; app.ts). */
export interface BatchObserver {
  batchDone(report: BatchReport): void;
  refusedFromMemory(eventId: number): void;
}

export interface AppMetrics {
  /** This app's own registry: several apps in one process (tests) never share or collide. */
  readonly registry: Registry;
  /** Subscribed to the inventory's batch reports: counts bookings and sold-outs, times batches. */
  readonly batchObserver: BatchObserver;
  /** The Prometheus text: this process's metrics, or the whole cluster's when it is a worker. */
  exposition(): Promise<string>;
}

// Seconds. The hot path answers in milliseconds; the top buckets catch a database that stalls.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * Creates the metrics of one app: HTTP, booking hot path, database pool, process. `clusterWorker`: this
 * process is one of BookFast's WORKERS, so a scrape (which reaches any one worker) answers for all of them.
 */
export function createMetrics(database: Database, options: { clusterWorker?: boolean; eventLabels?: number } = {}): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const bookings = new Counter({
    name: 'bookfast_bookings_total',
    help: 'Tickets booked through POST /book, per event',
    labelNames: ['event_id'],
    registers: [registry],
  });
  const soldOut = new Counter({
    name: 'bookfast_sold_out_total',
    help: 'Buyers answered "Sold Out", per event (from a batch or from the in-memory sold-out mark)',
    labelNames: ['event_id'],
    registers: [registry],
  });
  const fromMemory = new Counter({
    name: 'bookfast_sold_out_from_memory_total',
    help: 'Of those, buyers answered from the sold-out mark (learnt in this or another process) without a statement',
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'bookfast_booking_batch_size',
    help: 'Buyers written by one booking statement',
    buckets: BATCH_SIZE_BUCKETS,
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: 'bookfast_booking_batch_duration_seconds',
    help: 'Time one booking statement spent in the database, row-lock wait included',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'bookfast_booking_queue_wait_seconds',
    help: 'How long the oldest buyer of a batch waited in memory before the batch was sent',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const batchErrors = new Counter({
    name: 'bookfast_booking_batch_errors_total',
    help: 'Booking statements that failed (none of their buyers was told 200)',
    registers: [registry],
  });

  const stats = database.stats?.bind(database);
  if (stats) {
    // Read at scrape time only: no cost per request.
    const pool = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Gauge({ name, help, registers: [registry], collect() { this.set(read(stats())); } });
    pool('bookfast_db_pool_connections', 'PostgreSQL connections open in the pool', (s) => s.total);
    pool('bookfast_db_pool_idle_connections', 'Pooled connections idle', (s) => s.idle);
    pool('bookfast_db_pool_waiting_requests', 'Queries waiting for a pooled connection', (s) => s.waiting);
    // A failover, as the pool sees it: connections to a server that is no longer (or not yet) the primary.
    const total = (name: string, help: string, read: (s: PoolStats) => number) => {
      let counted = 0;
      return new Counter({ name, help, registers: [registry], collect() { const now = read(stats()); this.inc(now - counted); counted = now; } });
    };
    total('bookfast_db_not_primary_drops_total', 'Pooled connections destroyed because their server was not the primary', (s) => s.notPrimaryDrops);
    total('bookfast_db_failovers_seen_total', 'Runs of such drops (10 s apart): failovers or switchovers this process saw', (s) => s.failoversSeen);
  }

  const perEvent = new EventSeries([bookings, soldOut], options.eventLabels ?? 100);
  const batchObserver: BatchObserver = {
    batchDone({ eventId, size, booked, soldOut: refused, failed, seconds, waitedSeconds }) {
      batchSize.observe(size);
      batchDuration.observe(seconds);
      queueWait.observe(waitedSeconds);
      if (failed) batchErrors.inc();
      if (booked > 0) perEvent.add(eventId, 0, booked);
      if (refused > 0) perEvent.add(eventId, 1, refused);
    },
    refusedFromMemory(eventId) {
      fromMemory.inc();
      perEvent.add(eventId, 1, 1);
    },
  };

  if (options.clusterWorker) {
    shareWithPrimary(registry);
    return { registry, batchObserver, exposition: askPrimaryForClusterMetrics };
  }
  return { registry, batchObserver, exposition: () => registry.metrics() };
}

/**
 * Keeps the per-event counters to at most `max` series each: the `max` events booked most recently have their
 * own `event_id`; when another needs a place, the one idle longest hands its counts to `event_id="other"` and
 * its series ends. Sums over all series stay exact and never go down. Called once per batch, not per ticket.
 */
class EventSeries {
  // Insertion order is recency: an event is moved to the end whenever it counts.
  private readonly counts = new Map<number, number[]>();

  constructor(
    private readonly counters: Counter<'event_id'>[],
    private readonly max: number,
  ) {}

  add(eventId: number, counter: number, amount: number): void {
    let counts = this.counts.get(eventId);
    if (counts) this.counts.delete(eventId);
    else {
      if (this.max === 0) return void this.counters[counter]!.inc({ event_id: 'other' }, amount);
      if (this.counts.size >= this.max) this.retire();
      counts = this.counters.map(() => 0);
    }
    this.counts.set(eventId, counts);
    counts[counter]! += amount;
    this.counters[counter]!.inc({ event_id: String(eventId) }, amount);
  }

  private retire(): void {
    const [oldest, counts] = this.counts.entries().next().value!;
    this.counts.delete(oldest);
    this.counters.forEach((series, i) => {
      if (counts[i]! > 0) series.inc({ event_id: 'other' }, counts[i]);
      series.remove({ event_id: String(oldest) });
    });
  }
}

/**
 * Times every request (one histogram observation in onResponse) by route pattern, never the raw URL, so
 * `/events/1` and `/events/2` are one series; serves GET /metrics in Prometheus text format.
 */
export function registerMetrics(app: FastifyInstance, { registry, exposition }: AppMetrics, options: { token?: string | undefined } = {}): void {
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status (its _count is the request count)',
    labelNames: ['route', 'method', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  app.addHook('onResponse', (request, reply, done) => {
    requestDuration.observe(
      // Unknown URLs share one series: a scanner must not create a series per probe.
      { route: request.routeOptions.url ?? 'unmatched', method: request.method, status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });

  // Per-event sales are business data: with METRICS_TOKEN set, a scrape must bring it as a bearer token.
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Unauthorized('Not authenticated');
    }
    const text = await exposition();
    return reply.type(registry.contentType).send(text);
  });
}
