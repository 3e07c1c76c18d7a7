import { sql } from 'drizzle-orm';
import { queryRows, transaction, type Database, type Db } from '../db/client.js';
import { EVENT_COLUMN_LIST, EVENT_COLUMNS, type EventRow } from '../events/repository.js';
import type { EventValues } from '../events/values.js';
import {
  eventJson,
  readRecordedSale,
  recordedColumn,
  recordOrderSale,
  rethrowKeyTaken,
  ticketJson,
  type KeyToRecord,
  type RecordedSale,
} from './idempotency-records.js';
import { orderColumns, pickEvent, ticketColumns, toOrders, type FlatOrderRow, type OrderWithTickets } from './rows.js';

// Every statement that changes an event's seats (tickets_sold, tickets_held, total_tickets, booked tickets)
// is here, and each is ONE statement: atomic on its own, with no read-then-write gap between processes. The
// CHECK constraints (tickets_sold >= 0, tickets_held >= 0, sold + held <= total) back them up in the database.
//
// Two rules every statement that takes the event's row lock with `FOR UPDATE` in a CTE follows:
// - Its UPDATE writes all three of total_tickets, tickets_sold and tickets_held from the row it locked
//   (ev.tickets_sold + n), never `e.tickets_sold + n` and never leaving one out. The UPDATE finds the row
//   through the statement's snapshot; when another writer committed while this one waited for the lock,
//   PostgreSQL builds the new row from that stale version and checks the CHECK constraints on it before
//   it notices the newer version and recomputes. Stale columns mixed with a count computed from the fresh
//   row broke events_seats_range (13 sold + 4 held of 12: issue 11). Written wholly from the locked row,
//   the first candidate already is the final row, valid whenever the count fits in the seats left.
// - It sells only `free - waiting` (events.waiting: people in line, read from the same locked row): seats
//   that come back while anyone waits are the line's, and the promotion (promoteWaitlist) turns them into
//   holds in line order. A count of waitlist rows could not do this: the statement's snapshot misses a
//   join that committed while it waited for the lock.

export interface TicketRow {
  id: number;
  event_id: number;
  user_id: number;
  status: 'booked' | 'cancelled';
  purchase_date: Date;
  code: string;
  checked_in_at: Date | null;
}

export type TicketWithEvent = TicketRow & { event: EventRow };

export type BookingOutcome =
  | { kind: 'no-such-event' }
  // The event has a per-buyer limit: one statement cannot count a buyer's seats after taking the lock, so
  // these buyers go through placeOrder (a transaction) instead; nothing was booked.
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
  if (keyed.length === 0) return database.prepared<BookSeatsRow>('book_seats_v3', BOOK_SEATS_SQL, values);
  const keys = [toIntArray(keyed.map((buyer) => buyer.index + 1)), toTextArray(keyed.map((buyer) => buyer.key)), toTextArray(keyed.map((buyer) => buyer.requestHash))];
  return database.prepared<BookSeatsRow>('book_seats_keyed_v2', BOOK_SEATS_KEYED_SQL, [...values, ...keys]).catch(rethrowKeyTaken);
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

// Expires the overdue holds of the event locked in CTE `ev`, returning their quantities. Runs after `ev` took
// the row lock (it reads `ev`); an order confirmed or cancelled meanwhile is re-checked on its newest row
// version (status = 'pending' fails) and skipped. `event_id + 0` steers the planner to the partial index
// orders_pending_expiry_idx (only overdue holds, few since the sweeper runs) rather than all holds of the event.
const EXPIRE_OVERDUE_HOLDS_OF_EV = /* sql */ `UPDATE orders o SET status = 'expired'
    FROM ev WHERE o.status = 'pending' AND o.expires_at <= now() AND o.event_id + 0 = ev.id
    RETURNING o.quantity`;

// $1 event id, $2 number of buyers, $3 their user ids in arrival order. Prepared once per connection.
// A keyed batch (below) passes its own buyers and count, and has whole tickets returned to record them.
// Sellable = free seats (overdue holds counted back) minus the people in line, never below 0; everything
// from the locked row `ev` (see the two rules at the top).
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
  )`;
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

/**
 * Cancels one booked, not checked-in ticket of `userId` and returns its seat, or null when no such ticket
 * exists. Exactly once: the UPDATE locks the ticket row, so a concurrent cancel (or check-in) re-checks
 * `status = 'booked' AND checked_in_at IS NULL` after this one commits, finds it false and changes nothing.
 * The event row is locked first, as in every statement here; see cancelOrder for the lock order.
 */
export async function cancelTicket(db: Db, ticketId: number, userId: number): Promise<TicketWithEvent | null> {
  const rows = await queryRows<
    EventRow & { ticket_id: number; user_id: number; status: 'cancelled'; purchase_date: Date; code: string; checked_in_at: Date | null }
  >(
    db,
    sql`WITH ev AS (
          SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN tickets t ON t.event_id = e.id
          WHERE t.id = ${ticketId} AND t.user_id = ${userId} AND t.status = 'booked'
          FOR UPDATE OF e
        ), cancelled AS (
          UPDATE tickets t SET status = 'cancelled'
          FROM ev WHERE t.id = ${ticketId} AND t.user_id = ${userId} AND t.status = 'booked' AND t.checked_in_at IS NULL AND t.event_id = ev.id
          RETURNING t.id, t.event_id, t.user_id, t.status, t.purchase_date, t.code, t.checked_in_at
        ), released AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold - 1, tickets_held = ev.tickets_held
          FROM cancelled, ev WHERE e.id = cancelled.event_id
          RETURNING ${EVENT_COLUMNS}
        )
        SELECT released.*, cancelled.id AS ticket_id, cancelled.user_id, cancelled.status, cancelled.purchase_date,
               cancelled.code, cancelled.checked_in_at
        FROM cancelled JOIN released ON released.id = cancelled.event_id`,
  );
  const row = rows[0];
  if (!row) return null;
  const event = pickEvent(row);
  return {
    id: row.ticket_id,
    event_id: event.id,
    user_id: row.user_id,
    status: row.status,
    purchase_date: row.purchase_date,
    code: row.code,
    checked_in_at: row.checked_in_at,
    event,
  };
}

/**
 * Applies an owner's edit. A new capacity is accepted only if it is not below the seats sold and held; the
 * UPDATE re-checks that on the newest row version under its row lock, so a capacity cut racing with
 * bookings can never leave tickets_sold > total_tickets. Null when no row matched.
 */
export async function updateEvent(db: Db, eventId: number, ownerId: number | null, values: EventValues): Promise<EventRow | null> {
  const rows = await queryRows<EventRow>(
    db,
    sql`UPDATE events e SET
          event_name = COALESCE(${values.eventName ?? null}::varchar, e.event_name),
          date = COALESCE(${values.date?.toISOString() ?? null}::timestamptz, e.date),
          ticket_price = COALESCE(${values.ticketPrice ?? null}::numeric, e.ticket_price),
          currency = COALESCE(${values.currency ?? null}::varchar, e.currency),
          total_tickets = COALESCE(${values.totalTickets ?? null}::int, e.total_tickets),
          max_per_order = COALESCE(${values.maxPerOrder ?? null}::int, e.max_per_order),
          max_per_user = CASE WHEN ${values.maxPerUser !== undefined}::boolean THEN ${values.maxPerUser ?? null}::int ELSE e.max_per_user END,
          hold_minutes = COALESCE(${values.holdMinutes ?? null}::int, e.hold_minutes)
        WHERE e.id = ${eventId} AND e.owner_id IS NOT DISTINCT FROM ${ownerId}::int
          AND e.tickets_sold + e.tickets_held <= COALESCE(${values.totalTickets ?? null}::int, e.total_tickets)
        RETURNING ${EVENT_COLUMNS}`,
  );
  return rows[0] ?? null;
}

/**
 * Deletes an event of `ownerId` that has no booked tickets (its cancelled ones go with it). The row lock
 * taken by DELETE orders it against bookings: a booking that committed first makes tickets_sold > 0 and
 * the delete matches nothing; a booking that comes after finds no event.
 */
export async function deleteUnsoldEvent(db: Db, eventId: number, ownerId: number | null): Promise<boolean> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`DELETE FROM events WHERE id = ${eventId} AND owner_id IS NOT DISTINCT FROM ${ownerId}::int AND tickets_sold = 0 RETURNING id`,
  );
  return rows.length > 0;
}

// ---- Orders: several seats at once, holds that expire. Lock order everywhere: event row, then orders, then
// tickets, so that no two of these statements can wait on each other in a cycle (no deadlocks).

/**
 * Takes the event's row lock and expires its overdue holds (seats back: tickets_held -= their quantity).
 * Null when there is no such event. Inside a transaction the lock is kept until commit (placeOrder); on its
 * own (the sweeper) it is released at once. Safe: `FOR UPDATE` waits for every other writer of the event and
 * re-reads its newest row; each expiry re-checks `status = 'pending'` on the order's newest version, so an
 * order confirmed meanwhile is never expired, and each hold's seats come back exactly once. `waiting` is the
 * number of people in line (their seats are not for sale).
 */
export async function lockEventReleasingExpiredHolds(
  db: Db,
  eventId: number,
): Promise<{ event: EventRow; released: number; waiting: number } | null> {
  const rows = await queryRows<EventRow & { released: number; waiting: number }>(
    db,
    sql`WITH ev AS (
          SELECT ${EVENT_COLUMNS}, e.waiting FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), expired AS (
          ${sql.raw(EXPIRE_OVERDUE_HOLDS_OF_EV)}
        ), freed AS (
          SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
        ), released AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold, tickets_held = ev.tickets_held - freed.seats
          FROM ev, freed WHERE e.id = ev.id AND freed.seats > 0
          RETURNING e.id
        )
        SELECT ev.*, freed.seats AS released FROM ev, freed`,
  );
  const row = rows[0];
  if (!row) return null;
  return { event: { ...pickEvent(row), tickets_held: row.tickets_held - row.released }, released: row.released, waiting: row.waiting };
}

export interface OrderRequest {
  eventId: number;
  userId: number;
  quantity: number;
  /** Hold the seats (status pending, for the event's hold_minutes) instead of booking them now. */
  hold: boolean;
  /** The caller already knows the event limits seats per buyer: go straight to the counting transaction. */
  perUserLimit?: boolean;
  /** Recorded with the order in the same commit (then `placed` is read back from the record). */
  key?: KeyToRecord | undefined;
}

export type PlaceOutcome = { released: number } & (
  | { kind: 'no-such-event' }
  | { kind: 'over-order-limit'; limit: number }
  | { kind: 'sold-out' }
  | { kind: 'over-user-limit'; limit: number; owned: number }
  | { kind: 'placed'; placed: OrderWithTickets }
);

/**
 * Books (or holds) `quantity` seats of one event for one buyer, all or nothing, within the event's limits.
 * Without a per-buyer limit this is one statement; with one, a transaction that counts the buyer's seats.
 */
export async function placeOrder(db: Db, request: OrderRequest): Promise<PlaceOutcome> {
  if (request.perUserLimit) return placeOrderCountingBuyer(db, request);
  const outcome = await placeOrderAtOnce(db, request);
  if (outcome.kind !== 'per-user-limit') return outcome;
  const counted = await placeOrderCountingBuyer(db, request);
  return { ...counted, released: counted.released + outcome.released };
}

/**
 * One statement, like the booking batch: `FOR UPDATE` takes the event's row lock and re-reads its newest row;
 * overdue holds are expired under it; the limits and the seats left are read from that row, and the order,
 * its tickets and the counters are written before the lock is released. Refuses (nothing written but the
 * expiries) when the event has a per-buyer limit: counting the buyer's seats needs a snapshot taken after
 * the lock, which one statement does not have.
 */
async function placeOrderAtOnce(db: Db, { eventId, userId, quantity, hold, key }: OrderRequest): Promise<PlaceOutcome | { kind: 'per-user-limit'; released: number }> {
  const rows = await queryRows<PlacedRow & { verdict: 'per-user-limit' | 'over-order-limit' | 'sold-out' | 'placed'; released: number; order_limit: number }>(
    db,
    sql`WITH ev AS (
          SELECT ${EVENT_COLUMNS}, e.waiting FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), expired AS (
          ${sql.raw(EXPIRE_OVERDUE_HOLDS_OF_EV)}
        ), verdict AS (
          -- Sellable: free seats (overdue holds counted back) minus the people in line.
          SELECT ev.id, ev.max_per_order, ev.total_tickets, ev.tickets_sold, ev.tickets_held, freed.seats AS released,
                 CASE WHEN ev.max_per_user IS NOT NULL THEN 'per-user-limit'
                      WHEN ${quantity}::int > ev.max_per_order THEN 'over-order-limit'
                      WHEN ev.total_tickets - ev.tickets_sold - ev.tickets_held + freed.seats - ev.waiting < ${quantity}::int THEN 'sold-out'
                      ELSE 'placed' END AS verdict
          FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed
        ), placed AS (
          INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
          SELECT ev.id, ${userId}, ${hold ? 'pending' : 'confirmed'}, ${quantity}::int, ev.ticket_price * ${quantity}::int,
                 CASE WHEN ${hold}::boolean THEN now() + ev.hold_minutes * interval '1 minute' END
          FROM ev, verdict WHERE verdict.verdict = 'placed'
          RETURNING *
        ), counted AS (
          UPDATE events e
          SET total_tickets = verdict.total_tickets,
              tickets_sold = verdict.tickets_sold + CASE WHEN placed.id IS NULL THEN 0 ELSE ${hold ? 0 : quantity}::int END,
              tickets_held = verdict.tickets_held - verdict.released + CASE WHEN placed.id IS NULL THEN 0 ELSE ${hold ? quantity : 0}::int END
          FROM verdict LEFT JOIN placed ON true
          WHERE e.id = verdict.id AND (verdict.released > 0 OR placed.id IS NOT NULL)
          RETURNING ${EVENT_COLUMNS}
        ), issued AS (
          INSERT INTO tickets (event_id, user_id, status, order_id, price)
          SELECT placed.event_id, placed.user_id, 'booked', placed.id, ev.ticket_price FROM placed, ev, generate_series(1, placed.quantity)
          WHERE placed.status = 'confirmed'
          RETURNING *
        )${recordOrderSale(key, { order: 'placed', event: 'counted', issued: 'issued' })}
        SELECT verdict.verdict, verdict.released, verdict.max_per_order AS order_limit, counted.*,
               ${sql.raw(orderColumns('placed'))}, ${sql.raw(ticketColumns('issued'))}${recordedColumn(key)}
        FROM verdict LEFT JOIN counted ON true LEFT JOIN placed ON true LEFT JOIN issued ON true
        ORDER BY issued.id`,
  ).catch(rethrowKeyTaken);
  const first = rows[0];
  if (!first) return { kind: 'no-such-event', released: 0 };
  const { verdict, released } = first;
  if (verdict === 'placed') return { kind: 'placed', placed: placedOrder(rows), released };
  if (verdict === 'over-order-limit') return { kind: 'over-order-limit', limit: first.order_limit, released };
  return { kind: verdict, released };
}

/**
 * For events with a per-buyer limit: a transaction of two statements. The first takes the event's row lock
 * (releasing overdue holds); the second starts after it, so its snapshot holds every committed change to this
 * event's seats, tickets and orders, and none can commit until we do. The seat count (from the locked row)
 * and the buyer's count are therefore checked and applied atomically: concurrent orders of one buyer take
 * turns and cannot pass max_per_user.
 */
function placeOrderCountingBuyer(db: Db, { eventId, userId, quantity, hold, key }: OrderRequest): Promise<PlaceOutcome> {
  const placing = transaction(db, async (tx): Promise<PlaceOutcome> => {
    const locked = await lockEventReleasingExpiredHolds(tx, eventId);
    if (!locked) return { kind: 'no-such-event', released: 0 };
    const { event, released, waiting } = locked;
    if (quantity > event.max_per_order) return { kind: 'over-order-limit', limit: event.max_per_order, released };
    // Seats of people in line are not for sale (see the top of this file).
    if (event.total_tickets - event.tickets_sold - event.tickets_held - waiting < quantity) return { kind: 'sold-out', released };
    const rows = await queryRows<PlacedRow & { owned: number }>(
      tx,
      // The buyer's seats (booked tickets + pending holds) are counted only when the event has a limit.
      sql`WITH owned AS (
            SELECT CASE WHEN ${event.max_per_user !== null}::boolean THEN
                     (SELECT count(*) FROM tickets WHERE event_id = ${eventId} AND user_id = ${userId} AND status = 'booked')::int
                   + (SELECT COALESCE(sum(quantity), 0) FROM orders WHERE event_id = ${eventId} AND user_id = ${userId} AND status = 'pending')::int
                   ELSE 0 END AS seats
          ), placed AS (
            INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
            SELECT e.id, ${userId}, ${hold ? 'pending' : 'confirmed'}, ${quantity}::int, e.ticket_price * ${quantity}::int,
                   CASE WHEN ${hold}::boolean THEN now() + e.hold_minutes * interval '1 minute' END
            FROM events e, owned
            WHERE e.id = ${eventId} AND (e.max_per_user IS NULL OR owned.seats + ${quantity}::int <= e.max_per_user)
            RETURNING *
          ), counted AS (
            UPDATE events e SET tickets_sold = e.tickets_sold + ${hold ? 0 : quantity}::int,
                                tickets_held = e.tickets_held + ${hold ? quantity : 0}::int
            FROM placed WHERE e.id = placed.event_id
            RETURNING ${EVENT_COLUMNS}
          ), issued AS (
            INSERT INTO tickets (event_id, user_id, status, order_id, price)
            SELECT placed.event_id, placed.user_id, 'booked', placed.id, ${event.ticket_price}::numeric
            FROM placed, generate_series(1, placed.quantity)
            WHERE placed.status = 'confirmed'
            RETURNING *
          )${recordOrderSale(key, { order: 'placed', event: 'counted', issued: 'issued' })}
          SELECT owned.seats AS owned, counted.*, ${sql.raw(orderColumns('placed'))}, ${sql.raw(ticketColumns('issued'))}${recordedColumn(key)}
          FROM owned LEFT JOIN placed ON true LEFT JOIN counted ON true LEFT JOIN issued ON true
          ORDER BY issued.id`,
    );
    const first = rows[0]!;
    if ((first.order_id as number | null) === null) return { kind: 'over-user-limit', limit: event.max_per_user ?? 0, owned: first.owned, released };
    return { kind: 'placed', placed: placedOrder(rows), released };
  });
  return placing.catch(rethrowKeyTaken);
}

type PlacedRow = FlatOrderRow & { recorded?: unknown };

// With a key, the order is read back from its record: the first answer and every replay are then the same.
function placedOrder(rows: PlacedRow[]): OrderWithTickets {
  const recorded = rows[0]?.recorded;
  if (!recorded) return toOrders(rows)[0]!;
  const { order, event, tickets } = readRecordedSale(recorded);
  return { order: order!, event, tickets };
}

// The event of order $1 of user $2, row-locked before the order itself (see the lock order above), with the
// counters of the locked row version to write from.
const lockEventOfOrder = (orderId: number, userId: number) =>
  sql`SELECT e.id, e.total_tickets, e.tickets_sold, e.tickets_held FROM events e JOIN orders o ON o.event_id = e.id
      WHERE o.id = ${orderId} AND o.user_id = ${userId} FOR UPDATE OF e`;

/**
 * Confirms a pending hold of `userId`, or expires it if it is overdue: exactly one of the two, in one
 * statement, so a confirm racing the expiry either books the tickets or finds the seats already returned.
 * The UPDATE re-checks `status = 'pending'` on the order's newest version under its row lock, after the event
 * lock: whichever of confirm, expiry or cancel comes second finds the order no longer pending and does nothing.
 * Null when no pending order of that user matched.
 */
export async function settleHold(db: Db, orderId: number, userId: number, key?: KeyToRecord): Promise<OrderWithTickets | null> {
  const rows = await queryRows<PlacedRow>(
    db,
    sql`WITH ev AS (${lockEventOfOrder(orderId, userId)}
        ), settled AS (
          UPDATE orders o SET status = CASE WHEN o.expires_at > now() THEN 'confirmed' ELSE 'expired' END
          FROM ev WHERE o.id = ${orderId} AND o.event_id = ev.id AND o.status = 'pending'
          RETURNING o.*
        ), moved AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_held = ev.tickets_held - s.quantity,
                              tickets_sold = ev.tickets_sold + CASE WHEN s.status = 'confirmed' THEN s.quantity ELSE 0 END
          FROM settled s, ev WHERE e.id = s.event_id
          RETURNING ${EVENT_COLUMNS}
        ), issued AS (
          -- Each ticket costs what the hold was priced at when it was made.
          INSERT INTO tickets (event_id, user_id, status, order_id, price)
          SELECT s.event_id, s.user_id, 'booked', s.id, round(s.total_price / s.quantity, 2)
          FROM settled s, generate_series(1, s.quantity) WHERE s.status = 'confirmed'
          RETURNING *
        )${recordOrderSale(key, { order: 'settled', event: 'moved', issued: 'issued' })}
        SELECT moved.*, ${sql.raw(orderColumns('settled'))}, ${sql.raw(ticketColumns('issued'))}${recordedColumn(key)}
        FROM settled JOIN moved ON true LEFT JOIN issued ON true
        ORDER BY issued.id`,
  ).catch(rethrowKeyTaken);
  return rows.length === 0 ? null : placedOrder(rows);
}

export type CancelOutcome = { kind: 'cancelled'; eventId: number; seats: number } | { kind: 'checked-in' };

/**
 * Cancels an order of `userId` in the given status and returns its seats: a pending hold gives back its held
 * seats; a confirmed order cancels its still-booked tickets and gives back theirs, unless one of them is
 * checked in: then nothing changes (`checked-in`), the order is refused whole. One statement each; the
 * UPDATE re-checks the status on the order's newest version (after the event lock), so a cancel racing a
 * confirm, an expiry or another cancel applies once or not at all. Null when nothing matched.
 * Locks: event, then the order's tickets (FOR UPDATE reads their newest checked_in_at, and a check-in after
 * it waits and then finds them cancelled), then the order. Every statement that locks an order or a ticket
 * holds its event's lock first (check-in locks one ticket only), so this order cannot deadlock.
 */
export async function cancelOrder(db: Db, orderId: number, userId: number, status: 'pending' | 'confirmed'): Promise<CancelOutcome | null> {
  const statement =
    status === 'pending'
      ? sql`WITH ev AS (${lockEventOfOrder(orderId, userId)}
            ), cancelled AS (
              UPDATE orders o SET status = 'cancelled' FROM ev
              WHERE o.id = ${orderId} AND o.event_id = ev.id AND o.status = 'pending'
              RETURNING o.event_id, o.quantity
            ), released AS (
              UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold, tickets_held = ev.tickets_held - c.quantity
              FROM cancelled c, ev WHERE e.id = c.event_id
              RETURNING e.id
            )
            SELECT event_id, quantity AS seats, 0 AS checked_in FROM cancelled`
      : sql`WITH ev AS (${lockEventOfOrder(orderId, userId)}
            ), still_booked AS (
              SELECT t.id, t.checked_in_at FROM tickets t, ev WHERE t.order_id = ${orderId} AND t.status = 'booked' FOR UPDATE OF t
            ), cancelled AS (
              UPDATE orders o SET status = 'cancelled' FROM ev
              WHERE o.id = ${orderId} AND o.event_id = ev.id AND o.status = 'confirmed'
                AND NOT EXISTS (SELECT 1 FROM still_booked WHERE checked_in_at IS NOT NULL)
              RETURNING o.id, o.event_id
            ), voided AS (
              UPDATE tickets t SET status = 'cancelled' FROM cancelled c, still_booked b WHERE t.id = b.id AND t.order_id = c.id
              RETURNING t.id
            ), released AS (
              UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold - (SELECT count(*) FROM voided)::int,
                                  tickets_held = ev.tickets_held
              FROM cancelled c, ev WHERE e.id = c.event_id
              RETURNING e.id
            )
            SELECT c.event_id, (SELECT count(*) FROM voided)::int AS seats, k.n AS checked_in
            FROM (SELECT count(*)::int AS n FROM still_booked WHERE checked_in_at IS NOT NULL) k LEFT JOIN cancelled c ON true
            WHERE c.id IS NOT NULL OR k.n > 0`;
  const rows = await queryRows<{ event_id: number | null; seats: number; checked_in: number }>(db, statement);
  const row = rows[0];
  if (!row) return null;
  if (row.event_id === null) return { kind: 'checked-in' };
  return { kind: 'cancelled', eventId: row.event_id, seats: row.seats };
}

// ---- Waiting list: seats that come back go to the first in line as holds of one seat.

export interface Promotion {
  /** Seats of overdue holds expired on the way (already counted in `holds`' seats or back on sale). */
  released: number;
  /** The holds created, in line order. */
  holds: { orderId: number; userId: number }[];
}

/**
 * Gives each free seat of the event to the next buyer in its waiting list: deletes their waitlist rows and
 * creates a pending order of one seat for hold_minutes each (tickets_held += holds). Overdue holds are
 * expired first (lazy release), so their seats go to the line too. One statement, safe under any concurrency:
 * `FOR UPDATE` on the event serialises it with every other writer of the event's seats (bookings, cancels,
 * joins to the line) and reads the newest counts, so it never hands out more than the free seats. The line
 * is read with `FOR UPDATE` under the LIMIT (PostgreSQL locks before it counts): a row that a concurrent
 * promotion already deleted fails its lock and is skipped, the next one taken instead; and only rows this
 * statement deleted get an order, so each buyer gets exactly one hold per turn in line. events.waiting
 * goes down by the holds made; a join its snapshot missed stays counted there, so its seat stays reserved
 * until the next promotion (the sweeper retries events with free seats and people in line).
 */
export async function promoteWaitlist(db: Db, eventId: number): Promise<Promotion> {
  const rows = await queryRows<{ released: number; order_id: number | null; user_id: number | null }>(
    db,
    sql`WITH ev AS (
          SELECT e.id, e.ticket_price, e.hold_minutes, e.total_tickets, e.tickets_sold, e.tickets_held, e.waiting,
                 e.total_tickets - e.tickets_sold - e.tickets_held AS free
          FROM events e WHERE e.id = ${eventId} FOR UPDATE
        ), expired AS (
          ${sql.raw(EXPIRE_OVERDUE_HOLDS_OF_EV)}
        ), freed AS (
          SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired
        ), chosen AS (
          SELECT w.id FROM waitlist w WHERE w.event_id = ${eventId} ORDER BY w.id
          LIMIT (SELECT COALESCE(GREATEST(ev.free + freed.seats, 0), 0) FROM ev, freed)
          FOR UPDATE
        ), promoted AS (
          DELETE FROM waitlist w USING chosen WHERE w.id = chosen.id RETURNING w.id, w.user_id
        ), held AS (
          INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at)
          SELECT ev.id, p.user_id, 'pending', 1, ev.ticket_price, now() + ev.hold_minutes * interval '1 minute'
          FROM ev, promoted p ORDER BY p.id
          RETURNING id, user_id
        ), counted AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold,
                              tickets_held = ev.tickets_held - freed.seats + (SELECT count(*) FROM held)::int,
                              waiting = ev.waiting - (SELECT count(*) FROM held)::int
          FROM ev, freed WHERE e.id = ev.id AND (freed.seats > 0 OR EXISTS (SELECT 1 FROM held))
          RETURNING e.id
        )
        SELECT freed.seats AS released, held.id AS order_id, held.user_id FROM freed LEFT JOIN held ON true ORDER BY held.id`,
  );
  const holds = rows.flatMap((row) => (row.order_id === null || row.user_id === null ? [] : [{ orderId: row.order_id, userId: row.user_id }]));
  return { released: rows[0]?.released ?? 0, holds };
}

// A Postgres array literal: bound as one text parameter whatever the batch size.
function toIntArray(values: number[]): string {
  return `{${values.join(',')}}`;
}

// Each element quoted, with `\` and `"` escaped: keys may hold commas, braces, quotes or the word NULL.
function toTextArray(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}
