import { Type } from 'typebox';
import type { OrderWithTickets } from '../db/rows.js';
import { EventOut, toEventOut } from './events.js';
import { TicketOut, toTicketOut } from './tickets.js';

// The documented examples of a Ticket and an Event, reused so the three stay consistent.
const exampleOf = (schema: object) => (schema as { examples: unknown[] }).examples[0];
const ticketExample = exampleOf(TicketOut);
const eventExample = exampleOf(EventOut);

export const OrderOut = Type.Object(
  {
    id: Type.Integer(),
    event_id: Type.Integer(),
    user_id: Type.Integer(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('cancelled'), Type.Literal('expired')], {
      description: 'pending: seats held until expires_at; confirmed: tickets booked; cancelled; expired: the hold ran out',
    }),
    quantity: Type.Integer(),
    tickets: Type.Array(TicketOut, { description: 'The order’s tickets; empty while it is a hold' }),
    total_price: Type.String({ description: 'Decimal string: quantity × the ticket price when ordered' }),
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When a pending hold gives its seats back; null unless pending' }),
    event: EventOut,
  },
  {
    examples: [
      {
        id: 42,
        event_id: 1,
        user_id: 3,
        status: 'confirmed',
        quantity: 1,
        tickets: [ticketExample],
        total_price: '50.00',
        created_at: '2026-11-25T10:00:00.000Z',
        expires_at: null,
        event: eventExample,
      },
      {
        id: 43,
        event_id: 1,
        user_id: 3,
        status: 'pending',
        quantity: 2,
        tickets: [],
        total_price: '100.00',
        created_at: '2026-11-25T10:01:00.000Z',
        expires_at: '2026-11-25T10:11:00.000Z',
        event: eventExample,
      },
    ],
  },
);

export function toOrderOut({ order, event, tickets }: OrderWithTickets) {
  return {
    id: order.id,
    event_id: order.event_id,
    user_id: order.user_id,
    status: order.status,
    quantity: order.quantity,
    tickets: tickets.map((ticket) => toTicketOut({ ...ticket, event })),
    total_price: order.total_price,
    created_at: new Date(order.created_at).toISOString(),
    expires_at: order.status === 'pending' && order.expires_at ? new Date(order.expires_at).toISOString() : null,
    event: toEventOut(event),
  };
}
