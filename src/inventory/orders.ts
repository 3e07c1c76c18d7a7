import { sql } from 'drizzle-orm';
import { queryRows, transaction, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow } from '../db/rows.js';
import { readRecordedSale, recordedColumn, recordOrderSale, rethrowKeyTaken, type KeyToRecord } from './idempotency-records.js';
import { EXPIRE_OVERDUE_HOLDS_OF_EV, lockEventOfOrder } from './fragments.js';
import { expiredHoldsWebhooks } from '../webhooks/splices.js';
import { orderColumns, pickEvent, ticketColumns, toOrders, type FlatOrderRow, type OrderWithTickets } from './rows.js';

// ---- Orders: several seats at once, holds that expire. Lock order everywhere: event row, then orders, then
// tickets, so that no two of these statements can wait on each other in a cycle (no deadlocks).

/**
 * Takes the event's row lock and expires its overdue holds (seats back: tickets_held -= their quantity).
 * Null when there is no such event. Inside a transaction the lock is kept until commit (placeOrder); on its
 * own (the sweeper) it is released at once. Safe: `FOR UPDATE` waits for every other writer of the event and
 * re-reads its newest row; each expiry re-checks `status = 'pending'` on the order's newest version, so an
 * order confirmed meanwhile is never expired, and each hold's seats come back exactly once. `waiting` is the
 * number of people in line (their seats are not for sale). Each expired hold's order.expired webhook is written
 * by the same statement.
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
          RETURNING ${EVENT_COLUMNS}
        ), ${sql.raw(expiredHoldsWebhooks('released'))}
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
    // Seats of people in line are not for sale (INVARIANTS.md, rule 4).
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
