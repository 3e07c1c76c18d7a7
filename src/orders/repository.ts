import { sql } from 'drizzle-orm';
import { orderColumns, ticketColumns, toOrders, type FlatOrderRow } from '../inventory/rows.js';
import { queryRows, type Db } from '../db/client.js';
import { type OrderWithTickets, EVENT_COLUMNS } from '../db/rows.js';

// Reads only; every statement that changes orders lives in src/inventory/. Each read is one query that
// joins the event and the order's tickets, never one query per row.

const ORDER_COLUMNS = sql.raw(orderColumns('o'));
const TICKET_COLUMNS = sql.raw(ticketColumns('t'));

export async function findOrder(db: Db, orderId: number): Promise<OrderWithTickets | null> {
  const rows = await queryRows<FlatOrderRow>(
    db,
    sql`SELECT ${EVENT_COLUMNS}, ${ORDER_COLUMNS}, ${TICKET_COLUMNS}
        FROM orders o JOIN events e ON e.id = o.event_id LEFT JOIN tickets t ON t.order_id = o.id
        WHERE o.id = ${orderId} ORDER BY t.id`,
  );
  return toOrders(rows)[0] ?? null;
}

/** The event of order `orderId`, or null when there is no such order. */
export async function findEventOfOrder(db: Db, orderId: number): Promise<number | null> {
  const rows = await queryRows<{ event_id: number }>(db, sql`SELECT event_id FROM orders WHERE id = ${orderId}`);
  return rows[0]?.event_id ?? null;
}

/** A page of one buyer's orders, newest first (the page is cut before the join, so tickets never split it). */
export async function listOrders(db: Db, userId: number, skip: number, limit: number): Promise<OrderWithTickets[]> {
  const rows = await queryRows<FlatOrderRow>(
    db,
    sql`SELECT ${EVENT_COLUMNS}, ${ORDER_COLUMNS}, ${TICKET_COLUMNS}
        FROM (SELECT * FROM orders WHERE user_id = ${userId} ORDER BY id DESC OFFSET ${skip} LIMIT ${limit}) o
        JOIN events e ON e.id = o.event_id LEFT JOIN tickets t ON t.order_id = o.id
        ORDER BY o.id DESC, t.id`,
  );
  return toOrders(rows);
}

/** Events with holds past their expiry, for the sweeper; reads only the partial index of pending holds. */
export async function findEventsWithOverdueHolds(db: Db, limit: number): Promise<number[]> {
  const rows = await queryRows<{ event_id: number }>(
    db,
    sql`SELECT DISTINCT event_id FROM orders WHERE status = 'pending' AND expires_at <= now() LIMIT ${limit}`,
  );
  return rows.map((row) => row.event_id);
}
