import type { Database } from '../db/client.js';
import { EVENT_COLUMN_LIST, type EventRow } from '../db/rows.js';
import { eventJson, readRecordedSale, rethrowKeyTaken, ticketJson, type KeyToRecord, type RecordedSale } from './idempotency-records.js';
import { EXPIRE_OVERDUE_HOLDS_OF_EV, toIntArray, toTextArray } from './fragments.js';
import { pickEvent, type TicketRow } from './rows.js';
import { bookSeatsWebhooks } from '../webhooks/splices.js';

// The booking batch: POST /book's buyers of one event, queued by the batcher, sold in one statement.
// The invariants and the lock order every statement here keeps: INVARIANTS.md in this folder.

export type BookingOutcome =
  | { kind: 'no-such-event' }
  // The event has a per-buyer limit: one statement cannot count a buyer's seats after taking the lock, so
  // these buyers go through the order batch (order-batch.ts) instead; nothing was booked.
  // `released`: seats of overdue holds expired on the way (the waiting list's, when anyone waits).
  | { kind: 'per-user-limit'; released: number; recordedBefore: number[] }
  // Buyers take part in arrival order, except those in `recordedBefore` (0-based positions): their keys already
  // had a row, so they were left out. `recorded`: the sale recorded for each keyed buyer who got a seat.
  | { kind: 'booked'; granted: number; released: number; event: EventRow; tickets: TicketRow[]; recorded: Map<string, RecordedSale>; recordedBefore: number[] };

/**
 * Books up to `buyers.length` seats of one event in one statement, in arrival order: buyer i gets a seat
 * when i < granted, where granted = min(buyers, seats left); the rest are sold out.
 *
 * Safe under any concurrency: `FOR UPDATE` takes the event's row lock (waiting for any other batch, cancel or
 * capacity change on that event to commit, then re-reading the newest row), so `granted` is computed from
 * the current count, and the UPDATE and INSERT of the same statement apply it while the lock is held.
 * The counter is written once per batch, never once per ticket. Overdue holds of the event are expired in
 * the same statement (lazy release, under the same lock): their seats sell at once, unless people wait.
 */
export async function bookSeats(database: Database, eventId: number, buyers: number[], keyed: KeyedBuyer[] = []): Promise<BookingOutcome> {
  const rows = await bookSeatsStatement(database, eventId, buyers, keyed);
  const row = rows[0];
  if (!row) return { kind: 'no-such-event' };
  const recordedBefore = (row.recorded_before ?? []).map((ord) => ord - 1);
  const { released } = row;
  if (row.limited) return { kind: 'per-user-limit', released, recordedBefore };
  const { ticket_ids: ids, user_ids: userIds, codes, purchase_date: purchaseDate } = row;
  const recorded = readRecordedKeys(row.recorded);
  if (row.granted <= 0 || !ids || !userIds || !codes || !purchaseDate) return { kind: 'booked', granted: 0, released, event: row, tickets: [], recorded, recordedBefore };
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
  return { kind: 'booked', granted: row.granted, released, event, tickets, recorded, recordedBefore };
}

type BookSeatsRow = EventRow & {
  granted: number;
  released: number;
  limited: boolean;
  ticket_ids: number[] | null;
  user_ids: number[] | null;
  codes: string[] | null;
  purchase_date: Date | null;
  recorded?: { user_id: number; key: string; response: unknown }[] | null;
  recorded_before?: number[] | null;
};

// A batch without keys runs the statement it always ran; one with keys, the same statement plus the records.
function bookSeatsStatement(database: Database, eventId: number, buyers: number[], keyed: KeyedBuyer[]): Promise<BookSeatsRow[]> {
  const values = [eventId, buyers.length, toIntArray(buyers)];
  if (keyed.length === 0) return database.prepared<BookSeatsRow>('book_seats_v4', BOOK_SEATS_SQL, values);
  const keys = [toIntArray(keyed.map((buyer) => buyer.index + 1)), toTextArray(keyed.map((buyer) => buyer.key)), toTextArray(keyed.map((buyer) => buyer.requestHash))];
  return database.prepared<BookSeatsRow>('book_seats_keyed_v3', BOOK_SEATS_KEYED_SQL, [...values, ...keys]).catch(rethrowKeyTaken);
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
// $1 event id, $2 number of buyers, $3 their user ids in arrival order. Prepared once per connection.
// A keyed batch (below) passes its own buyers and count, and has whole tickets returned to record them.
// Sellable = free seats (overdue holds counted back) minus the people in line, never below 0; everything
// from the locked row `ev` (INVARIANTS.md, rules 3 and 4). The webhooks (order.expired, ticket.booked,
// event.sold_out) are written by the same statement, for the endpoints subscribed; with none, nothing.
const bookSeatsCtes = (issuedColumns = 'id, user_id, purchase_date, code', buyers = 'unnest($3::int[]) WITH ORDINALITY AS buyer(user_id, ord)', count = '$2::int') => /* sql */ `
  ev AS (
    SELECT id, total_tickets, tickets_sold, tickets_held, total_tickets - tickets_sold - tickets_held AS free, waiting,
           max_per_user IS NOT NULL AS limited
    FROM events WHERE id = $1 FOR UPDATE
  ), expired AS (
    ${EXPIRE_OVERDUE_HOLDS_OF_EV}
  ), quota AS (
    SELECT ev.id, ev.limited, ev.total_tickets, ev.tickets_sold, ev.tickets_held, freed.seats AS freed,
           CASE WHEN ev.limited THEN 0 ELSE LEAST(${count}, GREATEST(ev.free + freed.seats - ev.waiting, 0)) END AS granted
    FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed
  ), taken AS (
    UPDATE events e
    SET total_tickets = quota.total_tickets, tickets_sold = quota.tickets_sold + quota.granted, tickets_held = quota.tickets_held - quota.freed
    FROM quota WHERE e.id = quota.id AND (quota.granted > 0 OR quota.freed > 0)
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, price)
    SELECT taken.id, buyer.user_id, 'booked', taken.ticket_price
    FROM taken, quota, ${buyers}
    WHERE buyer.ord <= quota.granted
    RETURNING ${issuedColumns}
  ), issued_arrays AS (
    -- One result row per batch, not one per ticket with the event repeated: the driver parses the event and
    -- the purchase time once. Each array is ordered by ticket id, so index i of each is one ticket;
    -- purchase_date defaults to now(), the transaction's start, the same for every ticket here.
    SELECT array_agg(id ORDER BY id) AS ticket_ids, array_agg(user_id ORDER BY id) AS user_ids,
           array_agg(code ORDER BY id) AS codes, max(purchase_date) AS purchase_date
    FROM issued
  ), ${bookSeatsWebhooks()}`;
const BOOK_SEATS_SELECT = 'SELECT quota.granted, quota.freed AS released, quota.limited, taken.*, issued_arrays.* FROM quota LEFT JOIN taken ON true CROSS JOIN issued_arrays';
const BOOK_SEATS_SQL = `WITH ${bookSeatsCtes()} ${BOOK_SEATS_SELECT}`;

// The keyed batch: $4 the 1-based positions of the buyers who sent a key, $5 their keys, $6 their request
// hashes. A buyer whose key already has a row (a retry) takes no part: it is listed in recorded_before, and
// the batcher sends it to replay. The others are numbered again (eligible) and sold to as in the plain batch;
// each keyed one who gets a seat gets its key row in this statement (see idempotency-records.ts). Buyer n of
// a user gets that user's n-th ticket by id: the pairing the batcher answers with, so the ticket recorded for
// a key is the one its buyer is told about. A key recorded by another process after this statement's
// snapshot is a unique violation: nothing is sold, and the batcher runs the others again.
const BOOK_SEATS_KEYED_SQL = `WITH keyed AS (
    SELECT k.ord, b.user_id, k.key, k.request_hash
    FROM unnest($4::int[], $5::text[], $6::text[]) AS k(ord, key, request_hash)
    JOIN unnest($3::int[]) WITH ORDINALITY AS b(user_id, ord) ON b.ord = k.ord
  ), recorded_before AS (
    SELECT keyed.ord FROM keyed JOIN idempotency_keys r ON r.user_id = keyed.user_id AND r.key = keyed.key
  ), eligible AS (
    SELECT b.user_id, row_number() OVER (ORDER BY b.ord) AS ord, b.ord AS arrival
    FROM unnest($3::int[]) WITH ORDINALITY AS b(user_id, ord) WHERE b.ord NOT IN (SELECT ord FROM recorded_before)
  ), ${bookSeatsCtes('*', 'eligible AS buyer', '$2::int - (SELECT count(*) FROM recorded_before)::int')}, granted_buyers AS (
    SELECT b.user_id, b.arrival, row_number() OVER (PARTITION BY b.user_id ORDER BY b.ord) AS nth
    FROM quota, eligible b WHERE b.ord <= quota.granted
  ), numbered_tickets AS (
    SELECT i.id, i.user_id, ${ticketJson('i')} AS ticket, row_number() OVER (PARTITION BY i.user_id ORDER BY i.id) AS nth
    FROM issued i
  ), recorded AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, ticket_id)
    SELECT k.user_id, k.key, k.request_hash, 200,
           jsonb_build_object('order', NULL, 'event', ${eventJson('taken')}, 'tickets', jsonb_build_array(t.ticket)), t.id
    FROM keyed k
    JOIN granted_buyers b ON b.arrival = k.ord
    JOIN numbered_tickets t ON t.user_id = b.user_id AND t.nth = b.nth
    CROSS JOIN taken
    RETURNING user_id, key, response
  )
  SELECT quota.granted, quota.freed AS released, quota.limited, taken.*, issued_arrays.*,
         (SELECT jsonb_agg(jsonb_build_object('user_id', user_id, 'key', key, 'response', response)) FROM recorded) AS recorded,
         (SELECT array_agg(ord::int) FROM recorded_before) AS recorded_before
  FROM quota LEFT JOIN taken ON true CROSS JOIN issued_arrays`;
