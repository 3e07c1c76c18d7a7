import type { Database } from '../db/client.js';
import type { EventRow } from '../db/rows.js';
import { readRecordedSale, rethrowKeyTaken, type KeyToRecord, type RecordedSale } from './idempotency-records.js';
import { LOCK_EVENT, toIntArray, toTextArray } from './fragments.js';
import { pickEvent } from './rows.js';
import { BOOK_SEATS_COUNTED_KEYED_SQL, BOOK_SEATS_COUNTED_SQL, BOOK_SEATS_KEYED_SQL, BOOK_SEATS_SQL } from './booking-batch.sql.js';
import type { TicketRow } from '../db/rows.js';

// The booking batch: POST /book's buyers of one event, queued by the batcher, sold in one statement (SQL in
// booking-batch.sql.ts).
// The invariants and the lock order every statement here keeps: INVARIANTS.md in this folder.

export type BookingOutcome =
  | { kind: 'no-such-event' }
  // Buyers take part in arrival order, except those in `recordedBefore` (0-based positions): their keys already
  // had a row, so they were left out, and those in `overLimit` (0-based position -> the seats they had before
  // it): refused for the event's limit `userLimit`. Of the others, the first `granted` got a seat, the rest
  // are sold out. `recorded`: the sale recorded for each keyed buyer who got a seat. `released`: seats of
  // overdue holds expired on the way (the waiting list's, when anyone waits).
  | {
      kind: 'booked';
      granted: number;
      released: number;
      event: EventRow;
      tickets: TicketRow[];
      recorded: Map<string, RecordedSale>;
      recordedBefore: number[];
      userLimit: number | null;
      overLimit: Map<number, number>;
    };

/**
 * Books up to `buyers.length` seats of one event in one statement, in arrival order: buyer i gets a seat
 * when i < granted, where granted = min(buyers, seats left); the rest are sold out.
 *
 * Safe under any concurrency: `FOR UPDATE` takes the event's row lock (waiting for any other batch, cancel or
 * capacity change on that event to commit, then re-reading the newest row), so `granted` is computed from
 * the current count, and the UPDATE and INSERT of the same statement apply it while the lock is held.
 * The counter is written once per batch, never once per ticket. Overdue holds of the event are expired in
 * the same statement (lazy release, under the same lock): their seats sell at once, unless people wait.
 *
 * On an event with a per-buyer limit (`limitedHint`, or found by the statement) the batch is counted: the
 * second statement of a transaction whose first took the event lock, so that its snapshot, taken after the
 * lock, holds every seat of each buyer (INVARIANTS.md, rule 2); both go in one round trip. Buyers past the
 * limit are refused one by one; the others are sold to as above, in arrival order.
 */
export async function bookSeats(database: Database, eventId: number, buyers: number[], keyed: KeyedBuyer[] = [], limitedHint = false): Promise<BookingOutcome> {
  const alone = limitedHint ? undefined : (await bookSeatsStatement(database, eventId, buyers, keyed, false))[0];
  if (!limitedHint && !alone) return { kind: 'no-such-event' };
  if (alone && !alone.uncounted) return readOutcome(alone);
  const row = (await bookSeatsStatement(database, eventId, buyers, keyed, true))[0];
  if (!row) return { kind: 'no-such-event' };
  const outcome = readOutcome(row);
  // The lone statement sold nothing but may have expired overdue holds: their seats count as released too.
  return alone && outcome.kind === 'booked' ? { ...outcome, released: outcome.released + alone.released } : outcome;
}

// A row of a statement that sold (an uncounted one on a limited event is run again counted, never read).
function readOutcome(row: BookSeatsRow): BookingOutcome {
  const recordedBefore = (row.recorded_before ?? []).map((ord) => ord - 1);
  const { released } = row;
  const { ticket_ids: ids, user_ids: userIds, codes, purchase_date: purchaseDate } = row;
  const recorded = readRecordedKeys(row.recorded);
  const refusedOwned = row.refused_owned ?? [];
  const overLimit = new Map((row.refused ?? []).map((arrival, i) => [arrival - 1, refusedOwned[i]!]));
  const common = { released, recorded, recordedBefore, userLimit: row.user_limit, overLimit };
  if (row.granted <= 0 || !ids || !userIds || !codes || !purchaseDate) return { kind: 'booked', granted: 0, event: row, tickets: [], ...common };
  const event: EventRow = pickEvent(row);
  const tickets = ids.map((id, i) => ({
    id,
    event_id: event.id,
    user_id: userIds[i]!,
    status: 'booked' as const,
    purchase_date: purchaseDate,
    code: codes[i]!,
    checked_in_at: null,
  }));
  return { kind: 'booked', granted: row.granted, event, tickets, ...common };
}

type BookSeatsRow = EventRow & {
  granted: number;
  released: number;
  uncounted: boolean;
  user_limit: number | null;
  ticket_ids: number[] | null;
  user_ids: number[] | null;
  codes: string[] | null;
  purchase_date: Date | null;
  refused?: number[] | null;
  refused_owned?: number[] | null;
  recorded?: { user_id: number; key: string; response: unknown }[] | null;
  recorded_before?: number[] | null;
};

// A batch without keys runs the statement it always ran; one with keys, the same statement plus the records.
function bookSeatsStatement(database: Database, eventId: number, buyers: number[], keyed: KeyedBuyer[], counted: boolean): Promise<BookSeatsRow[]> {
  const values = [eventId, buyers.length, toIntArray(buyers)];
  const run = (name: string, text: string, params: unknown[]) =>
    counted ? database.preparedAfterLock<BookSeatsRow>({ text: LOCK_EVENT, values: [eventId] }, name, text, params) : database.prepared<BookSeatsRow>(name, text, params);
  if (keyed.length === 0) return counted ? run('book_seats_counted_v1', BOOK_SEATS_COUNTED_SQL, values) : run('book_seats_v5', BOOK_SEATS_SQL, values);
  const keys = [toIntArray(keyed.map((buyer) => buyer.index + 1)), toTextArray(keyed.map((buyer) => buyer.key)), toTextArray(keyed.map((buyer) => buyer.requestHash))];
  const [name, text] = counted ? ['book_seats_counted_keyed_v2', BOOK_SEATS_COUNTED_KEYED_SQL] : ['book_seats_keyed_v5', BOOK_SEATS_KEYED_SQL];
  return run(name, text, [...values, ...keys]).catch(rethrowKeyTaken);
}

/** The key of buyer `index` (0-based, in the batch's arrival order). */
export interface KeyedBuyer extends KeyToRecord {
  index: number;
}

const recordedKeyOf = (userId: number, key: string) => `${userId} ${key}`;

function readRecordedKeys(rows: BookSeatsRow['recorded']): Map<string, RecordedSale> {
  return new Map((rows ?? []).map((row) => [recordedKeyOf(row.user_id, row.key), readRecordedSale(row.response)]));
}

/** What the batch recorded for buyer `userId`'s key, if it sold them a seat. */
export function recordedFor(outcome: Extract<BookingOutcome, { kind: 'booked' }>, userId: number, key: string): RecordedSale | undefined {
  return outcome.recorded.get(recordedKeyOf(userId, key));
}
