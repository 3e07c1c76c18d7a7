import { Type, type Static } from 'typebox';
import type { EventRow } from '../db/rows.js';
import { Id } from './common.js';

// An event as every feature answers it (events, tickets, orders, organizers' screens, webhooks).

export const EventOut = Type.Object(
  {
    id: Type.Integer(),
    event_name: Type.String(),
    date: Type.String({ format: 'date-time' }),
    ticket_price: Type.String({ description: 'Decimal string: money is never a float' }),
    total_tickets: Type.Integer(),
    tickets_sold: Type.Integer(),
    tickets_available: Type.Integer({ description: 'Seats still for sale: total − sold − held by pending orders' }),
    max_per_order: Type.Integer({ description: 'Most seats one order may take' }),
    max_per_user: Type.Union([Type.Integer(), Type.Null()], { description: 'Most seats one buyer may own and hold in total; null: no limit' }),
    hold_minutes: Type.Integer({ description: 'How long a hold (POST /orders with "hold": true) keeps its seats' }),
    currency: Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code of ticket_price (e.g. EUR)' }),
  },
  {
    examples: [
      {
        id: 1,
        event_name: 'Rust & Roll',
        date: '2027-06-01T19:30:00.000Z',
        ticket_price: '50.00',
        total_tickets: 500,
        tickets_sold: 12,
        tickets_available: 488,
        max_per_order: 10,
        max_per_user: 4,
        hold_minutes: 10,
        currency: 'EUR',
      },
    ],
  },
);
export type EventOut = Static<typeof EventOut>;

export const EventIdParams = Type.Object({ id: Id });

export function toEventOut(row: EventRow): EventOut {
  return {
    id: row.id,
    event_name: row.event_name,
    date: new Date(row.date).toISOString(),
    ticket_price: row.ticket_price,
    total_tickets: row.total_tickets,
    tickets_sold: row.tickets_sold,
    tickets_available: row.total_tickets - row.tickets_sold - row.tickets_held,
    max_per_order: row.max_per_order,
    max_per_user: row.max_per_user,
    hold_minutes: row.hold_minutes,
    currency: row.currency,
  };
}
