import type { Database } from '../db/client.js';
import { NotFound, ServiceUnavailable, SoldOut } from '../http/errors.js';
import { IdempotencyKeyTaken, type KeyToRecord } from './idempotency-records.js';
import { bookSeats, recordedFor, type BookingOutcome, type KeyedBuyer } from './booking-batch.js';
import type { TicketWithEvent } from './rows.js';

export interface BatcherOptions {
  /** Most buyers one statement books; bounds how long anyone waits behind a batch. */
  maxBatchSize: number;
  /** Buyers allowed to wait per event in this process; past it they get 503 + Retry-After. */
  queueLimit: number;
  /** How long this process trusts "sold out" without asking the database again. */
  soldOutTtlMs: number;
  /** Batches of one event in the database at once (default 1): a second one would queue on the row lock. */
  maxInFlight?: number;
  /** Told about every batch and every in-memory refusal (metrics); must be cheap and never throw. */
  observer?: BatchObserver;
  /** Told after a commit that changed an event's seats (live availability); must be cheap and never throw. */
  onSeatsChanged?: (eventId: number) => void;
  /** Told after a commit that gave seats back (the waiting list's turn); must be cheap and never throw. */
  onSeatsReturned?: (eventId: number) => void;
}

export interface BatchReport {
  eventId: number;
  /** Buyers in the batch. */
  size: number;
  booked: number;
  soldOut: number;
  /** The statement failed or its outcome is unknown: nobody was booked. */
  failed: boolean;
  /** Time the statement took, row-lock wait included. */
  seconds: number;
  /** Time the oldest buyer of the batch waited in memory before it was sent. */
  waitedSeconds: number;
}

export interface BatchObserver {
  batchDone(report: BatchReport): void;
  refusedFromMemory(eventId: number): void;
}

interface Waiter {
  userId: number;
  /** Recorded with the seat in the batch's statement. */
  key: KeyToRecord | undefined;
  /** performance.now() when it joined the queue. */
  since: number;
  resolve(ticket: TicketWithEvent): void;
  reject(error: unknown): void;
}

interface EventQueue {
  waiting: Waiter[];
  inFlight: number;
  soldOutUntil: number;
  /** Until then, buyers of this event are sent straight to the order path: it has a per-buyer limit. */
  limitedUntil: number;
}

/**
 * Not an answer: the event has a per-buyer limit, which one batch statement cannot check (see bookSeats), so
 * the caller must book through placeOrder instead. Nothing was booked.
 */
export class PerUserLimitApplies extends Error {}

// How long "this event has a per-buyer limit" is trusted from memory. Only a speed hint: the batch statement
// re-checks the limit under the row lock, and the order path is correct for any event.
const LIMITED_TTL_MS = 1000;

/**
 * Natural batching for the flash sale. Buyers of one event queue here; while one batch is in the database,
 * newcomers wait, and the next batch is all of them (up to maxBatchSize) in one statement and one commit.
 * Idle, a batch is one buyer and adds no delay; under load, batches grow and commits per ticket fall.
 * Every answer is sent only after the statement committed; nothing is counted in memory but the queue.
 */
export class BookingBatcher {
  private readonly queues = new Map<number, EventQueue>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly database: Database,
    private readonly options: BatcherOptions,
  ) {}

  book(eventId: number, userId: number, key?: KeyToRecord): Promise<TicketWithEvent> {
    const queue = this.queueFor(eventId);
    // A keyed buyer not yet looked up may be a retry of a sale: only the batch statement can tell.
    if (queue.soldOutUntil > Date.now() && !key?.unchecked) {
      this.options.observer?.refusedFromMemory(eventId);
      return Promise.reject(new SoldOut());
    }
    if (queue.limitedUntil > Date.now()) {
      // The order path would refuse a retry afresh instead of replaying its stored refusal: look the key up first.
      return Promise.reject(key?.unchecked ? new IdempotencyKeyTaken('Idempotency-Key not looked up') : new PerUserLimitApplies());
    }
    if (queue.waiting.length >= this.options.queueLimit) {
      return Promise.reject(new ServiceUnavailable('Too many bookings are waiting for this event, retry shortly'));
    }
    return new Promise<TicketWithEvent>((resolve, reject) => {
      queue.waiting.push({ userId, key, since: performance.now(), resolve, reject });
      this.pump(eventId, queue);
    });
  }

  /** Seats came back (cancellation, bigger capacity, expiry): stop answering "sold out" from memory, offer them to the line. */
  seatsReturned(eventId: number): void {
    const queue = this.queues.get(eventId);
    if (queue) queue.soldOutUntil = 0;
    this.seatsChanged(eventId);
    this.options.onSeatsReturned?.(eventId);
  }

  /** Any committed change of an event's seats made outside a batch (holds, expiries): live clients hear of it. */
  seatsChanged(eventId: number): void {
    this.options.onSeatsChanged?.(eventId);
  }

  /** The owner set or removed the event's per-buyer limit: forget what memory said about it. */
  perUserLimitChanged(eventId: number): void {
    const queue = this.queues.get(eventId);
    if (queue) queue.limitedUntil = 0;
  }

  /** Resolves once every batch already sent to the database has answered (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private queueFor(eventId: number): EventQueue {
    let queue = this.queues.get(eventId);
    if (!queue) {
      queue = { waiting: [], inFlight: 0, soldOutUntil: 0, limitedUntil: 0 };
      this.queues.set(eventId, queue);
    }
    return queue;
  }

  private pump(eventId: number, queue: EventQueue): void {
    if (queue.inFlight >= (this.options.maxInFlight ?? 1) || queue.waiting.length === 0) return;
    const batch = queue.waiting.splice(0, this.options.maxBatchSize);
    queue.inFlight++;
    let released = false;
    // Called once the statement has settled, before its answers are written (see runBatch).
    const release = () => {
      if (released) return;
      released = true;
      queue.inFlight--;
      if (queue.waiting.length > 0) this.pump(eventId, queue);
      else if (queue.inFlight === 0 && Math.max(queue.soldOutUntil, queue.limitedUntil) <= Date.now()) this.queues.delete(eventId);
    };
    const run = this.runBatch(eventId, queue, batch, release)
      // runBatch answers every waiter before anything that could throw (observers are told not to); a
      // throwing observer must still not become an unhandled rejection that ends the process.
      .catch(() => undefined)
      .finally(() => {
        this.pending.delete(run);
        release();
      });
    this.pending.add(run);
  }

  private async runBatch(eventId: number, queue: EventQueue, batch: Waiter[], release: () => void): Promise<void> {
    const started = performance.now();
    let outcome;
    try {
      outcome = await bookSeats(this.database, eventId, batch.map((waiter) => waiter.userId), keyedBuyers(batch));
    } catch (error) {
      if (error instanceof IdempotencyKeyTaken) {
        // Nothing was sold. Keyed buyers look their keys up again (the taken one replays, the others come
        // back); the rest go first in line for the next batch, which is sent at once.
        queue.waiting.unshift(...batch.filter((waiter) => !waiter.key));
        release();
        for (const waiter of batch) if (waiter.key) waiter.reject(error);
        return;
      }
      // The statement failed or its outcome is unknown: nobody is told 200.
      const settled = performance.now();
      release();
      this.report(eventId, batch, started, settled, undefined);
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    if (outcome.kind === 'per-user-limit') queue.limitedUntil = Date.now() + LIMITED_TTL_MS;
    if (outcome.kind === 'booked' && outcome.granted < batch.length - outcome.recordedBefore.length) queue.soldOutUntil = Date.now() + this.options.soldOutTtlMs;
    const settled = performance.now();
    // The next batch goes to the database before this one's answers are written: PostgreSQL runs it while
    // this process serialises and sends a hundred answers, instead of waiting for them (the cycle of one
    // event's batches was 9 ms at 256 connections, a third of it writing answers).
    release();
    this.report(eventId, batch, started, settled, outcome);
    // Overdue holds expired on the way: their seats are the waiting list's first (never thrown: see options).
    if (outcome.kind !== 'no-such-event' && outcome.released > 0) this.seatsReturned(eventId);
    if (outcome.kind === 'no-such-event') {
      for (const waiter of batch) waiter.reject(new NotFound('Event not found'));
      return;
    }
    const recordedBefore = new Set(outcome.recordedBefore);
    // Its key already had an outcome (the statement looked): the caller replays it.
    const replayed = (index: number) => recordedBefore.has(index) && new IdempotencyKeyTaken('Idempotency-Key already recorded');
    if (outcome.kind === 'per-user-limit') {
      batch.forEach((waiter, index) => waiter.reject(replayed(index) || new PerUserLimitApplies()));
      return;
    }
    // Tickets of one buyer are interchangeable, so hand each waiter the next ticket issued to its user id.
    const issued = new Map<number, TicketWithEvent[]>();
    for (const ticket of outcome.tickets) {
      const list = issued.get(ticket.user_id) ?? [];
      list.push({ ...ticket, event: outcome.event });
      issued.set(ticket.user_id, list);
    }
    let turn = 0;
    batch.forEach((waiter, index) => {
      const recorded = replayed(index);
      if (recorded) return waiter.reject(recorded);
      const ticket = turn++ < outcome.granted ? issued.get(waiter.userId)?.shift() : undefined;
      // A keyed buyer is answered from its record, which its replays will read too (the same ticket).
      const sale = ticket && waiter.key ? recordedFor(outcome, waiter.userId, waiter.key.key) : undefined;
      if (sale) waiter.resolve({ ...sale.tickets[0]!, event: sale.event });
      else if (ticket) waiter.resolve(ticket);
      else waiter.reject(new SoldOut());
    });
    // Once per batch, never per ticket; coalesced further before anything is published.
    if (outcome.granted > 0) this.options.onSeatsChanged?.(eventId);
  }

  private report(eventId: number, batch: Waiter[], started: number, settled: number, outcome: BookingOutcome | undefined): void {
    const observer = this.options.observer;
    if (!observer) return;
    const booked = outcome?.kind === 'booked' ? outcome.granted : 0;
    try {
      observer.batchDone({
        eventId,
        size: batch.length,
        booked,
        soldOut: outcome?.kind === 'booked' ? batch.length - booked : 0,
        failed: outcome === undefined,
        seconds: (settled - started) / 1000,
        waitedSeconds: (started - batch[0]!.since) / 1000,
      });
    } catch {
      // A metrics fault must never cost a buyer the answer.
    }
  }
}

function keyedBuyers(batch: Waiter[]): KeyedBuyer[] {
  const keyed: KeyedBuyer[] = [];
  batch.forEach((waiter, index) => waiter.key && keyed.push({ index, ...waiter.key }));
  return keyed;
}
