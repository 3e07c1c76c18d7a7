import type { Database } from '../db/client.js';
import { BatchEngine, type Batch } from './batch-engine.js';
import { ExpiringMarks } from './expiring-marks.js';
import { IdempotencyKeyTaken } from './idempotency-records.js';
import { placeOrders, type OrderInBatch, type OrderVerdict } from './order-batch.js';
import type { SeatChanges } from './seat-changes.js';
import { settleHolds, type ConfirmInBatch } from './settle-batch.js';
import type { OrderWithTickets } from '../db/rows.js';

export interface OrderBatcherOptions {
  /** Most orders (or confirms) one statement carries. */
  maxBatchSize: number;
  /** Orders (or confirms) allowed to wait per event in this process; past it they get 503 + Retry-After. */
  queueLimit: number;
  maxInFlight?: number;
  /** Told after each commit that took seats (sold or held) or gave some back (expired holds). */
  changes: SeatChanges;
}

/** What one order was told: a verdict of the batch, or that its event does not exist. */
export type OrderAnswer = OrderVerdict | { kind: 'no-such-event' };

// How long "this event has a per-buyer limit" is trusted: batches then go straight to the counting
// transaction. Only a speed hint: without it the statement notices the limit itself and nothing is sold twice.
const LIMITED_TTL_MS = 1000;

/**
 * Natural batching of POST /orders and confirms: the orders of
 * one event queue (batch-engine.ts) and go to the database together, one statement per batch (order-batch.ts,
 * settle-batch.ts), answered only after it committed. Confirms have their own queue and statement.
 */
export class OrderBatcher {
  private readonly orders: BatchEngine<number, OrderInBatch, OrderAnswer>;
  private readonly confirms: BatchEngine<number, ConfirmInBatch, OrderWithTickets | null>;
  private readonly limited = new ExpiringMarks();

  constructor(
    private readonly database: Database,
    private readonly options: OrderBatcherOptions,
  ) {
    // The owner set or removed a limit: memory of it is void.
    options.changes.on('limitChanged', (eventId) => this.limited.delete(eventId));
    const common = { maxBatchSize: options.maxBatchSize, queueLimit: options.queueLimit, maxInFlight: options.maxInFlight };
    this.orders = new BatchEngine({
      ...common,
      queueFullMessage: 'Too many orders are waiting for this event, retry shortly',
      run: (eventId, batch) => this.runOrders(eventId, batch),
    });
    this.confirms = new BatchEngine({
      ...common,
      queueFullMessage: 'Too many confirmations are waiting for this event, retry shortly',
      run: (eventId, batch) => this.runConfirms(eventId, batch),
    });
  }

  /** Places one order in the event's next batch. */
  place(eventId: number, order: OrderInBatch): Promise<OrderAnswer> {
    return this.orders.submit(eventId, order);
  }

  /** Confirms (or expires, if overdue) one pending hold of `eventId`; null when no pending order of that user matched. */
  confirm(eventId: number, confirm: ConfirmInBatch): Promise<OrderWithTickets | null> {
    return this.confirms.submit(eventId, confirm);
  }

  /** Resolves once every batch already sent has answered (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.all([this.orders.drain(), this.confirms.drain()]);
  }

  private async runOrders(eventId: number, batch: Batch<OrderInBatch, OrderAnswer>): Promise<void> {
    const orders = batch.items;
    let outcome;
    try {
      outcome = await placeOrders(this.database, eventId, [...orders], this.limited.has(eventId));
    } catch (error) {
      if (!(error instanceof IdempotencyKeyTaken)) throw error; // the engine tells every order of the batch
      // Nothing was sold: keyed orders look their keys up again (the taken one replays); the rest go first
      // in line for the next batch.
      batch.requeue(orders.flatMap((order, index) => (order.key ? [] : [index])));
      batch.release();
      orders.forEach((order, index) => order.key && batch.reject(index, error));
      return;
    }
    batch.release();
    if (outcome.kind === 'no-such-event') {
      orders.forEach((_, index) => batch.resolve(index, outcome));
      return;
    }
    if (outcome.limited) this.limited.set(eventId, Date.now() + LIMITED_TTL_MS);
    if (outcome.released > 0) this.options.changes.seatsReturned(eventId);
    outcome.verdicts.forEach((verdict, index) =>
      verdict.kind === 'recorded-before' ? batch.reject(index, new IdempotencyKeyTaken('Idempotency-Key already recorded')) : batch.resolve(index, verdict),
    );
    // Once per batch, never per order.
    if (outcome.verdicts.some((verdict) => verdict.kind === 'placed')) this.options.changes.seatsChanged(eventId);
  }

  private async runConfirms(eventId: number, batch: Batch<ConfirmInBatch, OrderWithTickets | null>): Promise<void> {
    const confirms = batch.items;
    let outcome;
    try {
      outcome = await settleHolds(this.database, eventId, [...confirms]);
    } catch (error) {
      if (!(error instanceof IdempotencyKeyTaken)) throw error;
      batch.requeue(confirms.flatMap((confirm, index) => (confirm.key ? [] : [index])));
      batch.release();
      confirms.forEach((confirm, index) => confirm.key && batch.reject(index, error));
      return;
    }
    batch.release();
    const settled = outcome.settled;
    if (outcome.released > 0 || settled.some((order) => order?.order.status === 'expired')) this.options.changes.seatsReturned(eventId);
    settled.forEach((order, index) => batch.resolve(index, order));
    if (settled.some((order) => order?.order.status === 'confirmed')) this.options.changes.seatsChanged(eventId);
  }
}
