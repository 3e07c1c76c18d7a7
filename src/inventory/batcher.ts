import type { Database } from '../db/client.js';
import { NotFound, OverUserLimit, SoldOut } from '../errors.js';
import { BatchEngine, type Batch } from './batch-engine.js';
import { ExpiringMarks } from './expiring-marks.js';
import type { SeatChanges } from './seat-changes.js';
import type { SoldOutMemory } from './sold-out.js';
import { IdempotencyKeyTaken, type KeyToRecord } from './idempotency-records.js';
import { bookSeats, recordedFor, type BookingOutcome, type KeyedBuyer } from './booking-batch.js';
import type { TicketWithEvent } from '../db/rows.js';

export interface BatcherOptions {
  /** Most buyers one statement books; bounds how long anyone waits behind a batch. */
  maxBatchSize: number;
  /** Buyers allowed to wait per event in this process; past it they get 503 + Retry-After. */
  queueLimit: number;
  /** Batches of one event in the database at once (default 1): a second one would queue on the row lock. */
  maxInFlight?: number;
  /** Where the batcher announces what its commits did (seats sold or returned, sold out, batch reports). */
  changes: SeatChanges;
  /** Consulted before queueing a buyer; learns through `changes` (soldOut, returned). */
  soldOut: SoldOutMemory;
}

/** One POST /book buyer waiting for the batch. */
interface Buyer {
  userId: number;
  /** Recorded with the seat in the batch's statement. */
  key: KeyToRecord | undefined;
}

// How long "this event has a per-buyer limit" is trusted from memory: its batches go straight to the counted
// statement. Only a speed hint: a lone statement finds a limit itself and sells nothing, and a counted one is
// correct for any event.
const LIMITED_TTL_MS = 1000;

/**
 * Natural batching for the flash sale (the queueing itself is batch-engine.ts). Buyers of one event queue;
 * while one batch is in the database, newcomers wait, and the next batch is all of them (up to maxBatchSize)
 * in one statement and one commit. Idle, a batch is one buyer and adds no delay; under load, batches grow and
 * commits per ticket fall. Every answer is sent only after the statement committed.
 */
export class BookingBatcher {
  private readonly engine: BatchEngine<number, Buyer, TicketWithEvent>;
  /** These events have a per-buyer limit: their batches are counted (bookSeats). */
  private readonly limited = new ExpiringMarks();

  constructor(
    private readonly database: Database,
    private readonly options: BatcherOptions,
  ) {
    this.engine = new BatchEngine({
      maxBatchSize: options.maxBatchSize,
      queueLimit: options.queueLimit,
      maxInFlight: options.maxInFlight,
      queueFullMessage: 'Too many bookings are waiting for this event, retry shortly',
      run: (eventId, batch) => this.runBatch(eventId, batch),
    });
    // The owner set or removed the event's per-buyer limit: forget what memory said about it.
    options.changes.on('limitChanged', (eventId) => this.limited.delete(eventId));
  }

  book(eventId: number, userId: number, key?: KeyToRecord): Promise<TicketWithEvent> {
    // A keyed buyer not yet looked up may be a retry of a sale: only the batch statement can tell.
    if (!key?.unchecked && this.options.soldOut.has(eventId)) {
      this.options.changes.refusedFromMemory(eventId);
      return Promise.reject(new SoldOut());
    }
    return this.engine.submit(eventId, { userId, key });
  }

  /** Resolves once every batch already sent to the database has answered (graceful shutdown). */
  drain(): Promise<void> {
    return this.engine.drain();
  }

  private async runBatch(eventId: number, batch: Batch<Buyer, TicketWithEvent>): Promise<void> {
    const buyers = batch.items;
    let outcome;
    try {
      outcome = await bookSeats(this.database, eventId, buyers.map((buyer) => buyer.userId), keyedBuyers(buyers), this.limited.has(eventId));
    } catch (error) {
      if (error instanceof IdempotencyKeyTaken) {
        // Nothing was sold. Keyed buyers look their keys up again (the taken one replays, the others come
        // back); the rest go first in line for the next batch, which is sent at once.
        batch.requeue(indexesWhere(buyers, (buyer) => !buyer.key));
        batch.release();
        buyers.forEach((buyer, index) => buyer.key && batch.reject(index, error));
        return;
      }
      // The statement failed or its outcome is unknown: nobody is told 200.
      this.report(eventId, batch, batch.release(), undefined);
      buyers.forEach((_, index) => batch.reject(index, error));
      return;
    }
    if (outcome.kind === 'booked' && outcome.userLimit !== null) this.limited.set(eventId, Date.now() + LIMITED_TTL_MS);
    if (outcome.kind === 'booked' && outcome.granted < buyers.length - outcome.recordedBefore.length - outcome.overLimit.size) {
      this.options.changes.soldOut(eventId);
    }
    // The next batch goes to the database before this one's answers are written: PostgreSQL runs it while
    // this process serialises and sends a hundred answers, instead of waiting for them (the cycle of one
    // event's batches was 9 ms at 256 connections, a third of it writing answers).
    this.report(eventId, batch, batch.release(), outcome);
    // Overdue holds expired on the way: their seats are the waiting list's first (listeners never throw).
    if (outcome.kind !== 'no-such-event' && outcome.released > 0) this.options.changes.seatsReturned(eventId);
    if (outcome.kind === 'no-such-event') {
      buyers.forEach((_, index) => batch.reject(index, new NotFound('Event not found')));
      return;
    }
    const recordedBefore = new Set(outcome.recordedBefore);
    // Its key already had an outcome (the statement looked): the caller replays it.
    const replayed = (index: number) => recordedBefore.has(index) && new IdempotencyKeyTaken('Idempotency-Key already recorded');
    // Tickets of one buyer are interchangeable, so hand each buyer the next ticket issued to its user id.
    const issued = new Map<number, TicketWithEvent[]>();
    for (const ticket of outcome.tickets) {
      const list = issued.get(ticket.user_id) ?? [];
      list.push({ ...ticket, event: outcome.event });
      issued.set(ticket.user_id, list);
    }
    let turn = 0;
    buyers.forEach((buyer, index) => {
      const recorded = replayed(index);
      if (recorded) return batch.reject(index, recorded);
      const owned = outcome.overLimit.get(index);
      if (owned !== undefined) return batch.reject(index, new OverUserLimit(outcome.userLimit!, owned));
      const ticket = turn++ < outcome.granted ? issued.get(buyer.userId)?.shift() : undefined;
      // A keyed buyer is answered from its record, which its replays will read too (the same ticket).
      const sale = ticket && buyer.key ? recordedFor(outcome, buyer.userId, buyer.key.key) : undefined;
      if (sale) batch.resolve(index, { ...sale.tickets[0]!, event: sale.event });
      else if (ticket) batch.resolve(index, ticket);
      else batch.reject(index, new SoldOut());
    });
    // Once per batch, never per ticket; coalesced further before anything is published.
    if (outcome.granted > 0) this.options.changes.seatsChanged(eventId);
  }

  private report(eventId: number, batch: Batch<Buyer, TicketWithEvent>, seconds: number, outcome: BookingOutcome | undefined): void {
    const booked = outcome?.kind === 'booked' ? outcome.granted : 0;
    const refused = outcome?.kind === 'booked' ? outcome.overLimit.size : 0;
    this.options.changes.batchDone({
      eventId,
      size: batch.items.length,
      booked,
      soldOut: outcome?.kind === 'booked' ? batch.items.length - booked - refused : 0,
      failed: outcome === undefined,
      seconds,
      waitedSeconds: batch.waitedSeconds,
    });
  }
}

function indexesWhere<T>(items: readonly T[], test: (item: T) => boolean): number[] {
  const indexes: number[] = [];
  items.forEach((item, index) => test(item) && indexes.push(index));
  return indexes;
}

function keyedBuyers(buyers: readonly Buyer[]): KeyedBuyer[] {
  const keyed: KeyedBuyer[] = [];
  buyers.forEach((buyer, index) => buyer.key && keyed.push({ index, ...buyer.key }));
  return keyed;
}
