import { sql } from 'drizzle-orm';
import type { events, orders, tickets } from './schema.js';

// Row shapes derived from the Drizzle schema, so a column's type is written once. The hand-written SQL
// (src/inventory, the repositories) names columns in snake_case, as the table does; the schema's
// properties are their camelCase: SnakeRow turns one into the other. pg and PGlite both return numeric
// columns as strings and timestamptz as Date, which is what $inferSelect says too.

type Snake<S extends string> = S extends `${infer Head}${infer Tail}` ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${Snake<Tail>}` : S;

/** A Drizzle row type with the table's own (snake_case) column names. */
export type SnakeRow<Row> = { [Key in keyof Row as Snake<Key & string>]: Row[Key] };

/** An event as every statement returns it: the columns of EVENT_COLUMN_LIST. */
export type EventRow = Pick<
  SnakeRow<typeof events.$inferSelect>,
  'id' | 'event_name' | 'date' | 'ticket_price' | 'total_tickets' | 'tickets_sold' | 'tickets_held' | 'max_per_order' | 'max_per_user' | 'hold_minutes' | 'currency' | 'owner_id'
>;

export const EVENT_COLUMN_LIST =
  'e.id, e.event_name, e.date, e.ticket_price, e.total_tickets, e.tickets_sold, e.tickets_held, e.max_per_order, e.max_per_user, e.hold_minutes, e.currency, e.owner_id';
export const EVENT_COLUMNS = sql.raw(EVENT_COLUMN_LIST);

/** An owner's values for an event (a creation or an edit), parsed; absent means "not given". */
export type EventValues = Partial<
  Pick<typeof events.$inferInsert, 'eventName' | 'date' | 'ticketPrice' | 'currency' | 'totalTickets' | 'maxPerOrder' | 'maxPerUser' | 'holdMinutes'>
>;

// Tickets and orders as the statements return them (src/inventory and the reads), as the drivers return them.
export type TicketRow = Pick<SnakeRow<typeof tickets.$inferSelect>, 'id' | 'event_id' | 'user_id' | 'status' | 'purchase_date' | 'code' | 'checked_in_at'>;

export type TicketWithEvent = TicketRow & { event: EventRow };

// from_waitlist matters only to the waiting room's check (waiting-room/gate.ts), which reads it itself.
export type OrderRow = Omit<SnakeRow<typeof orders.$inferSelect>, 'from_waitlist'>;

export type OrderStatus = OrderRow['status'];

export interface OrderWithTickets {
  order: OrderRow;
  event: EventRow;
  tickets: TicketRow[];
}
