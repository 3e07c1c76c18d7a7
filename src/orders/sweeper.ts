import type { FastifyBaseLogger } from 'fastify';
import { lockEventReleasingExpiredHolds } from '../inventory/hold-expiry.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import type { Db } from '../db/client.js';
import { startLeasedJob, type LeasedJob } from '../db/leader.js';
import { purgeExpiredIdempotencyKeys } from '../idempotency/repository.js';
import { findEventsOwingPromotion } from '../inventory/reads.js';
import { findEventsWithOverdueHolds } from './repository.js';

// Expired holds give their seats back two ways, on purpose:
// - lazily, under the event's row lock, in the same statement or transaction as every booking or order of that
//   event (bookSeats, placeOrders, settleHolds): a buyer never finds seats "held" by a hold that is already over, whatever
//   the timer does, and the release costs one probe of the partial index orders_pending_expiry_idx;
// - by this sweeper, every HOLD_SWEEP_SECONDS, for events nobody is buying right now: their tickets_available
//   (GET /events) must come back too, without anyone calling an endpoint.
// Either path expires a hold with `status = 'pending' AND expires_at <= now()` re-checked on its newest row,
// so the two (and a racing confirm) can never both act on one hold. That makes a sweep safe to run twice, but N
// processes sweeping every few seconds would contend for the hot events' row locks: one process at a time,
// the holder of the 'hold-sweeper' lease (src/db/leader.ts), sweeps.

const EVENTS_PER_SWEEP = 500;

/** Expires every overdue hold (one event at a time, each under its own row lock); returns the seats released. */
export async function sweepExpiredHolds(db: Db, changes: SeatChanges): Promise<number> {
  let released = 0;
  for (const eventId of await findEventsWithOverdueHolds(db, EVENTS_PER_SWEEP)) {
    const outcome = await lockEventReleasingExpiredHolds(db, eventId);
    if (outcome && outcome.released > 0) {
      changes.seatsReturned(eventId);
      released += outcome.released;
    }
  }
  // Free seats with buyers in line (a promotion that failed, seats freed by a batch's lazy expiry): their turn.
  for (const eventId of await findEventsOwingPromotion(db, EVENTS_PER_SWEEP)) changes.seatsReturned(eventId);
  await purgeExpiredIdempotencyKeys(db);
  return released;
}

/**
 * Runs the sweeper every `everySeconds` in the background, in the holder of the 'hold-sweeper' lease only
 * (app.holdSweeper: its runs, for tests and operators, and how to stop it). The app stops it first on close
 * (src/app.ts), before the batches and promotions it may start are drained.
 */
export function startHoldSweeper(db: Db, changes: SeatChanges, everySeconds: number, log: FastifyBaseLogger): LeasedJob {
  return startLeasedJob(
    db,
    'hold-sweeper',
    everySeconds * 1000,
    async () => void (await sweepExpiredHolds(db, changes)),
    (error) => log.warn({ err: error }, 'hold sweeper: sweep failed; retrying at the next tick'),
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    holdSweeper: LeasedJob;
  }
}
