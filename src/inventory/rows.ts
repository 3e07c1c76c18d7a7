import type { EventRow, OrderStatus, OrderWithTickets } from '../db/rows.js';

// Orders come back from SQL as flat rows (order columns, event columns, one row per ticket); these turn them
// into plain objects. Shared by the statements in this folder and the reads in orders/repository.ts.

/** Columns of an order (alias `o`) as order_*, and of a ticket (alias `t`) as ticket_*; t may be null. */
export const orderColumns = (o: string) =>
  `${o}.id AS order_id, ${o}.event_id AS order_event_id, ${o}.user_id AS order_user_id, ${o}.status AS order_status,
   ${o}.quantity AS order_quantity, ${o}.total_price AS order_total_price, ${o}.created_at AS order_created_at,
   ${o}.expires_at AS order_expires_at`;
export const ticketColumns = (t: string) =>
  `${t}.id AS ticket_id, ${t}.status AS ticket_status, ${t}.purchase_date AS ticket_purchase_date, ${t}.code AS ticket_code,
   ${t}.checked_in_at AS ticket_checked_in_at`;

export interface FlatOrderRow extends EventRow {
  order_id: number;
  order_event_id: number;
  order_user_id: number;
  order_status: OrderStatus;
  order_quantity: number;
  order_total_price: string;
  order_created_at: Date;
  order_expires_at: Date | null;
  ticket_id: number | null;
  ticket_status: 'booked' | 'cancelled' | null;
  ticket_purchase_date: Date | null;
  ticket_code: string | null;
  ticket_checked_in_at: Date | null;
}

/** Groups flat rows by order, keeping the rows' order (callers sort in SQL). */
export function toOrders(rows: FlatOrderRow[]): OrderWithTickets[] {
  const orders = new Map<number, OrderWithTickets>();
  for (const row of rows) {
    let entry = orders.get(row.order_id);
    if (!entry) {
      entry = {
        order: {
          id: row.order_id,
          event_id: row.order_event_id,
          user_id: row.order_user_id,
          status: row.order_status,
          quantity: row.order_quantity,
          total_price: row.order_total_price,
          created_at: row.order_created_at,
          expires_at: row.order_expires_at,
        },
        event: pickEvent(row),
        tickets: [],
      };
      orders.set(row.order_id, entry);
    }
    if (row.ticket_id !== null) {
      entry.tickets.push({
        id: row.ticket_id,
        event_id: row.order_event_id,
        user_id: row.order_user_id,
        status: row.ticket_status!,
        purchase_date: row.ticket_purchase_date!,
        code: row.ticket_code!,
        checked_in_at: row.ticket_checked_in_at,
      });
    }
  }
  return [...orders.values()];
}

export function pickEvent(row: EventRow): EventRow {
  const { id, event_name, date, ticket_price, total_tickets, tickets_sold, tickets_held, max_per_order, max_per_user, hold_minutes, currency, owner_id } = row;
  return { id, event_name, date, ticket_price, total_tickets, tickets_sold, tickets_held, max_per_order, max_per_user, hold_minutes, currency, owner_id };
}
