import type { Database } from '../db/client.js';
import { NotFound, ServiceUnavailable, SoldOut } from '../http/errors.js';
import { bookSeats, type TicketWithEvent } from './inventory.js';

export interface BatcherOptions {
  /** Most buyers one statement books; bounds how long anyone waits behind a batch. */
  maxBatchSize: number;
  /** Buyers allowed to wait per event in this process; past it they get 503 + Retry-After. */
  queueLimit: number;
  /** How long this process trusts "sold out" without asking the database again. */
  soldOutTtlMs: number;
  /** Batches of one event in the database at once: a second one queues on the row lock, ready to go. */
  maxInFlight?: number;
}

interface Waiter {
  userId: number;
  resolve(ticket: TicketWithEvent): void;
  reject(error: unknown): void;
}

interface EventQueue {
  waiting: Waiter[];
  inFlight: number;
  soldOutUntil: number;
}

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

  book(eventId: number, userId: number): Promise<TicketWithEvent> {
    const queue = this.queueFor(eventId);
    if (queue.soldOutUntil > Date.now()) return Promise.reject(new SoldOut());
    if (queue.waiting.length >= this.options.queueLimit) {
      return Promise.reject(new ServiceUnavailable('Too many bookings are waiting for this event, retry shortly'));
    }
    return new Promise<TicketWithEvent>((resolve, reject) => {
      queue.waiting.push({ userId, resolve, reject });
      this.pump(eventId, queue);
    });
  }

  /** Seats came back (cancellation, bigger capacity): stop answering "sold out" from memory at once. */
  seatsReturned(eventId: number): void {
    const queue = this.queues.get(eventId);
    if (queue) queue.soldOutUntil = 0;
  }

  /** Resolves once every batch already sent to the database has answered (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private queueFor(eventId: number): EventQueue {
    let queue = this.queues.get(eventId);
    if (!queue) {
      queue = { waiting: [], inFlight: 0, soldOutUntil: 0 };
      this.queues.set(eventId, queue);
    }
    return queue;
  }

  private pump(eventId: number, queue: EventQueue): void {
    if (queue.inFlight >= (this.options.maxInFlight ?? 1) || queue.waiting.length === 0) return;
    const batch = queue.waiting.splice(0, this.options.maxBatchSize);
    queue.inFlight++;
    const run = this.runBatch(eventId, queue, batch).finally(() => {
      this.pending.delete(run);
      queue.inFlight--;
      if (queue.waiting.length > 0) this.pump(eventId, queue);
      else if (queue.inFlight === 0 && queue.soldOutUntil <= Date.now()) this.queues.delete(eventId);
    });
    this.pending.add(run);
  }

  private async runBatch(eventId: number, queue: EventQueue, batch: Waiter[]): Promise<void> {
    let outcome;
    try {
      outcome = await bookSeats(this.database, eventId, batch.map((waiter) => waiter.userId));
    } catch (error) {
      // The statement failed or its outcome is unknown: nobody is told 200.
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    if (outcome.kind === 'no-such-event') {
      for (const waiter of batch) waiter.reject(new NotFound('Event not found'));
      return;
    }
    // Tickets of one buyer are interchangeable, so hand each waiter the next ticket issued to its user id.
    const issued = new Map<number, TicketWithEvent[]>();
    for (const ticket of outcome.tickets) {
      const list = issued.get(ticket.user_id) ?? [];
      list.push({ ...ticket, event: outcome.event });
      issued.set(ticket.user_id, list);
    }
    batch.forEach((waiter, index) => {
      const ticket = index < outcome.granted ? issued.get(waiter.userId)?.shift() : undefined;
      if (ticket) waiter.resolve(ticket);
      else waiter.reject(new SoldOut());
    });
    if (outcome.granted < batch.length) queue.soldOutUntil = Date.now() + this.options.soldOutTtlMs;
  }
}
