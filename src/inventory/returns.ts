import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow, type TicketWithEvent } from '../db/rows.js';
import { EXPIRE_OVERDUE_HOLDS_OF_EV, lockEventOfOrder } from './fragments.js';
import { orderCancelledWebhooks, ticketCancelledWebhooks, waitlistOfferedWebhooks } from '../outbox/splices.js';
import { pickEvent } from './rows.js';

// Seats that come back: a cancelled ticket or order, and the waiting list that takes them first.
// The invariants and the lock order every statement here keeps: INVARIANTS.md in this folder. Each statement
// also writes its webhooks (src/outbox/splices.ts): they commit with the change, or not at all.

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
        ), ${sql.raw(ticketCancelledWebhooks())}
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
              RETURNING o.*
            ), released AS (
              UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold, tickets_held = ev.tickets_held - c.quantity
              FROM cancelled c, ev WHERE e.id = c.event_id
              RETURNING ${EVENT_COLUMNS}
            ), ${sql.raw(orderCancelledWebhooks('pending'))}
            SELECT event_id, quantity AS seats, 0 AS checked_in FROM cancelled`
      : sql`WITH ev AS (${lockEventOfOrder(orderId, userId)}
            ), still_booked AS (
              SELECT t.id, t.checked_in_at FROM tickets t, ev WHERE t.order_id = ${orderId} AND t.status = 'booked' FOR UPDATE OF t
            ), cancelled AS (
              UPDATE orders o SET status = 'cancelled' FROM ev
              WHERE o.id = ${orderId} AND o.event_id = ev.id AND o.status = 'confirmed'
                AND NOT EXISTS (SELECT 1 FROM still_booked WHERE checked_in_at IS NOT NULL)
              RETURNING o.*
            ), voided AS (
              UPDATE tickets t SET status = 'cancelled' FROM cancelled c, still_booked b WHERE t.id = b.id AND t.order_id = c.id
              RETURNING t.*
            ), released AS (
              UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold - (SELECT count(*) FROM voided)::int,
                                  tickets_held = ev.tickets_held
              FROM cancelled c, ev WHERE e.id = c.event_id
              RETURNING ${EVENT_COLUMNS}
            ), ${sql.raw(orderCancelledWebhooks('confirmed'))}
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
          INSERT INTO orders (event_id, user_id, status, quantity, total_price, expires_at, from_waitlist)
          SELECT ev.id, p.user_id, 'pending', 1, ev.ticket_price, now() + ev.hold_minutes * interval '1 minute', true
          FROM ev, promoted p ORDER BY p.id
          RETURNING *
        ), counted AS (
          UPDATE events e SET total_tickets = ev.total_tickets, tickets_sold = ev.tickets_sold,
                              tickets_held = ev.tickets_held - freed.seats + (SELECT count(*) FROM held)::int,
                              waiting = ev.waiting - (SELECT count(*) FROM held)::int
          FROM ev, freed WHERE e.id = ev.id AND (freed.seats > 0 OR EXISTS (SELECT 1 FROM held))
          RETURNING ${EVENT_COLUMNS}
        ), ${sql.raw(waitlistOfferedWebhooks())}
        SELECT freed.seats AS released, held.id AS order_id, held.user_id FROM freed LEFT JOIN held ON true ORDER BY held.id`,
  );
  const holds = rows.flatMap((row) => (row.order_id === null || row.user_id === null ? [] : [{ orderId: row.order_id, userId: row.user_id }]));
  return { released: rows[0]?.released ?? 0, holds };
}
