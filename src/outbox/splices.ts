import { outboxCtes } from './outbox.js';
import { eventJsonSql, orderJsonSql, ticketJsonSql } from './payload-sql.js';

// The outbox CTEs of the seat statements (src/inventory/): each function returns the text to add to a
// statement's WITH list, after the relations it names, preceded by ", ". Every webhook is then written by the
// statement that makes the change: it commits or rolls back with it. Nothing is added to what the statement
// returns. test/webhooks.splices.test.ts runs each inside a statement of its shape; the wired statements are
// tested end to end in test/webhooks.seats.test.ts.
//
// The relations a splice reads (names are parameters where statements differ):
//   event   : the one BookFast event AFTER the change, all events columns (RETURNING EVENT_COLUMN_LIST):
//             id, owner_id and the EventOut columns. Empty when nothing changed: then nothing is written.
//   orders  : order rows as they are after the change, all columns (RETURNING o.* or *)
//   tickets : ticket rows after the change, all ticket columns incl. order_id (RETURNING t.* or *)
// CTE names start with `wh_`; two splices in one statement must not repeat a name (the `name` options).
// Order of the rows (= delivery order per endpoint): `after` makes one group's ids follow another's.

/** A hold, or any order whose tickets are not listed: OrderOut with `tickets: []`. */
const NO_TICKETS = `'[]'::json`;

/** Order `o`'s TicketOut list, from the relation `tickets` (all ticket columns incl. order_id). */
function orderTicketsSql(tickets: string, event: string): string {
  return `COALESCE((SELECT json_agg(${ticketJsonSql('ot', eventJsonSql(event))} ORDER BY ot.id) FROM ${tickets} ot WHERE ot.order_id = o.id), '[]'::json)`;
}

interface OrderWebhooks {
  name: string;
  type: 'order.created' | 'order.confirmed' | 'order.cancelled' | 'order.expired' | 'waitlist.offered';
  orders: string;
  event: string;
  /** The orders' tickets relation; none: each order is sent with `tickets: []` (holds). */
  tickets?: string;
  where?: string;
  after?: string[];
}

/** One webhook per row of `orders` (aliased `o`), in id order; data: its OrderOut after the change. */
function orderCtes({ name, type, orders, event, tickets, where, after }: OrderWebhooks): string {
  const data = orderJsonSql('o', tickets ? orderTicketsSql(tickets, event) : NO_TICKETS, eventJsonSql(event));
  return outboxCtes({ name, type, event, from: `${orders} o, ${event}`, data, orderBy: 'o.id', ...(where ? { where } : {}), ...(after ? { after } : {}) });
}

/** One webhook per row of `tickets` (aliased `t`), in id order; data: its TicketOut with the event after. */
function ticketCtes(name: string, type: 'ticket.booked' | 'ticket.cancelled', tickets: string, event: string, after?: string[]): string {
  const data = ticketJsonSql('t', eventJsonSql(event));
  return outboxCtes({ name, type, event, from: `${tickets} t, ${event}`, data, orderBy: 't.id', ...(after ? { after } : {}) });
}

/**
 * event.sold_out once, when this statement sold (`sold`: a condition over `from`) and left no seat available
 * (tickets_available = 0, as EventOut counts it: holds count as taken). Data: the EventOut after the change.
 */
function soldOutCtes(event: string, from: string, sold: string, after: string[]): string {
  const where = `${sold} AND ${event}.total_tickets - ${event}.tickets_sold - ${event}.tickets_held = 0`;
  return outboxCtes({ name: 'wh_sold_out', type: 'event.sold_out', event, from, data: eventJsonSql(event), where, after });
}

/**
 * order.expired per overdue hold expired by EXPIRE_OVERDUE_HOLDS_OF_EV (CTE `expired`, RETURNING o.*), with
 * the event after the change (`taken` in the booking batch, `released` in the sweeper, `counted` in
 * promoteWaitlist and placeOrder). CTE name `wh_expired`: later groups can follow it (`after: ['wh_expired']`).
 */
export function expiredHoldsWebhooks(event: string): string {
  return orderCtes({ name: 'wh_expired', type: 'order.expired', orders: 'expired', event });
}

/**
 * The booking batch (BOOK_SEATS_SQL and its keyed form): order.expired for holds expired on the way, then
 * one ticket.booked per ticket (in ticket id order), then event.sold_out when the batch sold the last seat.
 * Reads `expired` (o.*), `quota` (granted), `taken` (the event after the whole batch: every ticket carries
 * it, as the API's answers do) and `issued` (at least id, user_id, purchase_date, code; the other TicketOut
 * fields of a new ticket are known: its event, status booked, not checked in).
 */
export function bookSeatsWebhooks(): string {
  const tickets = `issued, LATERAL (SELECT issued.id, taken.id AS event_id, issued.user_id, 'booked'::text AS status,
      issued.purchase_date, issued.code, NULL::timestamptz AS checked_in_at) t`;
  return [
    expiredHoldsWebhooks('taken'),
    // The event's JSON once per batch rather than once per ticket: a MATERIALIZED CTE is computed once (a
    // subquery in FROM would be inlined and its expression evaluated per row).
    `wh_taken_json AS MATERIALIZED (SELECT ${eventJsonSql('taken')} AS event FROM taken)`,
    outboxCtes({
      name: 'wh_booked',
      type: 'ticket.booked',
      event: 'taken',
      from: `taken, wh_taken_json, ${tickets}`,
      data: ticketJsonSql('t', 'wh_taken_json.event'),
      orderBy: 't.id',
      after: ['wh_expired'],
    }),
    soldOutCtes('taken', 'taken, quota', 'quota.granted > 0', ['wh_expired', 'wh_booked']),
  ].join(',\n  ');
}

/** cancelTicket: ticket.cancelled, from `cancelled` (the ticket after) and `released` (the event after). */
export function ticketCancelledWebhooks(): string {
  return ticketCtes('wh_ticket_cancelled', 'ticket.cancelled', 'cancelled', 'released');
}

/**
 * cancelOrder: order.cancelled, then (a confirmed order) one ticket.cancelled per ticket it cancelled. Reads
 * `cancelled` (o.*), `released` (the event after) and, for a confirmed order, `voided` (t.* of the tickets
 * it cancelled). The order lists all its tickets as GET /orders/{id} does after the cancel: those cancelled
 * now (`voided`) and any cancelled before (read from the table: this statement did not change them).
 */
export function orderCancelledWebhooks(status: 'pending' | 'confirmed'): string {
  if (status === 'pending') return orderCtes({ name: 'wh_order_cancelled', type: 'order.cancelled', orders: 'cancelled', event: 'released' });
  const tickets = `(SELECT * FROM voided UNION ALL
      SELECT t.* FROM tickets t WHERE t.order_id IN (SELECT id FROM cancelled) AND t.id NOT IN (SELECT id FROM voided))`;
  return [
    orderCtes({ name: 'wh_order_cancelled', type: 'order.cancelled', orders: 'cancelled', event: 'released', tickets }),
    ticketCtes('wh_ticket_cancelled', 'ticket.cancelled', 'voided', 'released', ['wh_order_cancelled']),
  ].join(',\n  ');
}

/**
 * promoteWaitlist: order.expired for holds expired on the way, then waitlist.offered per hold handed to the
 * line (data: the hold, an OrderOut, pending). Reads `expired`, `held` (o.*) and `counted` (the event after).
 * A hold given from the line is announced as waitlist.offered only, not also as order.created.
 */
export function waitlistOfferedWebhooks(): string {
  return [
    expiredHoldsWebhooks('counted'),
    orderCtes({ name: 'wh_offered', type: 'waitlist.offered', orders: 'held', event: 'counted', after: ['wh_expired'] }),
  ].join(',\n  ');
}

// ---- For the orders statements (placeOrder, settleHold; issue 13 rebuilds them as batches). Not wired
// here: the rebuild splices these into its own statements, with its own relation names.

export interface OrderRelations {
  /** The orders written, all columns (RETURNING *): one per order of a batch. Default `placed` / `settled`. */
  orders?: string;
  /** The event after the change, all events columns. Default `counted` / `moved`. */
  event?: string;
  /** The tickets written, all columns incl. order_id (RETURNING *). Default `issued`. */
  tickets?: string;
  /** Outbox CTEs whose rows must come first, e.g. `['wh_expired']` when the statement also expires holds. */
  after?: string[];
}

/**
 * POST /orders (placeOrderAtOnce, placeOrderCountingBuyer, or a batched orders statement): order.created per
 * hold (pending), order.confirmed per immediate order (with its tickets), then one ticket.booked per ticket,
 * then event.sold_out when the orders took the last available seat. Each group in id order; for a batch,
 * every order.created/confirmed comes before the tickets. When the statement also expires holds, splice
 * expiredHoldsWebhooks(event) first and pass `after: ['wh_expired']`.
 */
export function orderPlacedWebhooks({ orders = 'placed', event = 'counted', tickets = 'issued', after = [] }: OrderRelations = {}): string {
  return [
    orderCtes({ name: 'wh_order_created', type: 'order.created', orders, event, where: `o.status = 'pending'`, after }),
    orderCtes({ name: 'wh_order_confirmed', type: 'order.confirmed', orders, event, tickets, where: `o.status = 'confirmed'`, after: [...after, 'wh_order_created'] }),
    ticketCtes('wh_order_booked', 'ticket.booked', tickets, event, [...after, 'wh_order_created', 'wh_order_confirmed']),
    soldOutCtes(event, event, `EXISTS (SELECT 1 FROM ${orders})`, [...after, 'wh_order_created', 'wh_order_confirmed', 'wh_order_booked']),
  ].join(',\n  ');
}

/**
 * settleHold (a confirm, or an expiry found at confirm): order.confirmed (with its tickets) then one
 * ticket.booked per ticket, or order.expired. Reads `settled` (o.*), `moved` (the event after) and `issued`.
 */
export function holdSettledWebhooks({ orders = 'settled', event = 'moved', tickets = 'issued', after = [] }: OrderRelations = {}): string {
  return [
    orderCtes({ name: 'wh_hold_confirmed', type: 'order.confirmed', orders, event, tickets, where: `o.status = 'confirmed'`, after }),
    ticketCtes('wh_hold_booked', 'ticket.booked', tickets, event, [...after, 'wh_hold_confirmed']),
    // A hold is either confirmed or expired: this group never shares a statement's rows with the two above.
    orderCtes({ name: 'wh_hold_expired', type: 'order.expired', orders, event, where: `o.status = 'expired'`, after }),
  ].join(',\n  ');
}
