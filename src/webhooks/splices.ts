import { outboxCtes } from './outbox.js';
import { eventJsonSql, orderJsonSql, ticketJsonSql } from './payload-sql.js';

// Ready-to-splice outbox CTEs for the seat statements of src/inventory/, which are being rewritten
// (issue 13) and so are not wired yet. Each constant is the text to add to the statement's WITH list, after
// the CTEs it names, preceded by ", ". The relation names are today's; after the rewrite, rename them to
// the new statement's (the comment of each says what each relation must hold). No change to what the
// statement returns. test/webhooks.splices.test.ts runs each one inside a statement of the same shape.
//
// Relations used below (today's names):
//   taken / counted / moved / released : the event row AFTER the change, all events columns (RETURNING e.* or
//                                        EVENT_COLUMN_LIST): id, owner_id, and the EventOut columns
//   issued                             : the tickets written, RETURNING * (or id, user_id, purchase_date, code)
//   placed / settled                   : the order rows written, RETURNING * (or o.*)

/** An order's TicketOut list, from the tickets relation `tickets` (all ticket columns incl. order_id). */
function orderTicketsSql(tickets: string, event: string): string {
  return `COALESCE((SELECT json_agg(${ticketJsonSql('ot', eventJsonSql(event))} ORDER BY ot.id) FROM ${tickets} ot WHERE ot.order_id = o.id), '[]'::json)`;
}

/**
 * BOOK_SEATS_SQL (POST /book batch): one ticket.booked per ticket, after `issued`. `issued` returns only id,
 * user_id, purchase_date and code, so the other TicketOut fields come from `taken` and constants. The event
 * in every ticket is the row after the whole batch, as in the API's answers.
 */
export const TICKET_BOOKED_IN_BOOK_SEATS = outboxCtes({
  name: 'wh_booked',
  type: 'ticket.booked',
  event: 'taken',
  from: `taken, issued, LATERAL (SELECT issued.id, taken.id AS event_id, issued.user_id, 'booked'::text AS status,
      issued.purchase_date, issued.code, NULL::timestamptz AS checked_in_at) t`,
  data: ticketJsonSql('t', eventJsonSql('taken')),
  orderBy: 'issued.id',
});

/** BOOK_SEATS_SQL: event.sold_out when this batch sold the last free seat (after `quota` and `taken`). */
export const SOLD_OUT_IN_BOOK_SEATS = outboxCtes({
  name: 'wh_sold_out',
  type: 'event.sold_out',
  event: 'taken',
  from: 'taken, quota',
  data: eventJsonSql('taken'),
  where: 'quota.granted > 0 AND taken.total_tickets - taken.tickets_sold - taken.tickets_held = 0',
  after: 'wh_booked',
});

/** cancelTicket: ticket.cancelled, after `released` (which must RETURN the event columns, as it does). */
export const TICKET_CANCELLED_IN_CANCEL_TICKET = outboxCtes({
  name: 'wh_cancelled',
  type: 'ticket.cancelled',
  event: 'released',
  from: 'cancelled, released',
  data: ticketJsonSql('cancelled', eventJsonSql('released')),
});

/**
 * placeOrderAtOnce / placeOrderCountingBuyer (POST /orders): order.created for a hold (pending), and
 * order.confirmed plus one ticket.booked per ticket for an immediate order. After `placed`, `counted`
 * (event after) and `issued` (tickets, RETURNING *). For a batched orders statement the same CTEs apply
 * to all the batch's orders at once.
 */
export const ORDER_PLACED_IN_PLACE_ORDER = [
  outboxCtes({
    name: 'wh_order_created',
    type: 'order.created',
    event: 'counted',
    from: 'placed o, counted',
    data: orderJsonSql('o', `'[]'::json`, eventJsonSql('counted')),
    where: `o.status = 'pending'`,
    orderBy: 'o.id',
  }),
  outboxCtes({
    name: 'wh_order_confirmed',
    type: 'order.confirmed',
    event: 'counted',
    from: 'placed o, counted',
    data: orderJsonSql('o', orderTicketsSql('issued', 'counted'), eventJsonSql('counted')),
    where: `o.status = 'confirmed'`,
    orderBy: 'o.id',
  }),
  outboxCtes({
    name: 'wh_order_booked',
    type: 'ticket.booked',
    event: 'counted',
    from: 'issued t, counted',
    data: ticketJsonSql('t', eventJsonSql('counted')),
    orderBy: 't.id',
    after: 'wh_order_confirmed',
  }),
].join(',\n  ');

/** settleHold (confirm, or expiry found at confirm): order.confirmed / order.expired, after `settled`, `moved`, `issued`. */
export const ORDER_SETTLED_IN_SETTLE_HOLD = [
  outboxCtes({
    name: 'wh_order_settled_confirmed',
    type: 'order.confirmed',
    event: 'moved',
    from: 'settled o, moved',
    data: orderJsonSql('o', orderTicketsSql('issued', 'moved'), eventJsonSql('moved')),
    where: `o.status = 'confirmed'`,
  }),
  outboxCtes({
    name: 'wh_order_settled_expired',
    type: 'order.expired',
    event: 'moved',
    from: 'settled o, moved',
    data: orderJsonSql('o', `'[]'::json`, eventJsonSql('moved')),
    where: `o.status = 'expired'`,
  }),
].join(',\n  ');

/**
 * cancelOrder (both variants): order.cancelled. Needs `cancelled` to RETURN o.* and `released` to RETURN
 * the event columns (today they return fewer). Tickets of a cancelled confirmed order are listed as
 * they are after the cancel (status cancelled), from `voided` (which must then RETURN t.*); a hold has none.
 */
export const ORDER_CANCELLED_IN_CANCEL_ORDER = outboxCtes({
  name: 'wh_order_cancelled',
  type: 'order.cancelled',
  event: 'released',
  from: 'cancelled o, released',
  data: orderJsonSql('o', `'[]'::json`, eventJsonSql('released')),
});

/**
 * Expiry of overdue holds (EXPIRE_OVERDUE_HOLDS_OF_EV, the sweeper): order.expired per hold. Needs the
 * expiring CTE (`expired`) to RETURN o.* and a relation with the event after the change; in BOOK_SEATS_SQL
 * that is `taken` (empty when nothing changed, so no webhook either).
 */
export const ORDER_EXPIRED_IN_EXPIRY = outboxCtes({
  name: 'wh_order_expired',
  type: 'order.expired',
  event: 'taken',
  from: 'expired o, taken',
  data: orderJsonSql('o', `'[]'::json`, eventJsonSql('taken')),
  orderBy: 'o.id',
});

/**
 * promoteWaitlist: waitlist.offered per hold handed to the line (data: the hold, an OrderOut). Needs `held` to
 * RETURN * and `counted` to RETURN the event columns (today: id, user_id and e.id).
 */
export const WAITLIST_OFFERED_IN_PROMOTE = outboxCtes({
  name: 'wh_offered',
  type: 'waitlist.offered',
  event: 'counted',
  from: 'held o, counted',
  data: orderJsonSql('o', `'[]'::json`, eventJsonSql('counted')),
  orderBy: 'o.id',
});
