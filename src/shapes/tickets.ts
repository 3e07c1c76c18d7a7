import { Type } from 'typebox';
import type { TicketWithEvent } from '../db/rows.js';
import { EventOut, toEventOut } from './events.js';

export const TicketOut = Type.Object(
  {
    id: Type.Integer(),
    event_id: Type.Integer(),
    user_id: Type.Integer(),
    status: Type.Union([Type.Literal('booked'), Type.Literal('cancelled')]),
    purchase_date: Type.String({ format: 'date-time' }),
    code: Type.String({ description: 'Check-in code (shown at the door); keep it private' }),
    checked_in_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    event: EventOut,
  },
  {
    examples: [
      {
        id: 7,
        event_id: 1,
        user_id: 3,
        status: 'booked',
        purchase_date: '2026-11-25T10:00:00.000Z',
        code: 'q7Vt0yqkM1b3Zc0m6k2k1w7Qm8yN2e6R0u3Xn4Zp',
        checked_in_at: null,
        event: {
          id: 1,
          event_name: 'Rust & Roll',
          date: '2027-06-01T19:30:00.000Z',
          ticket_price: '50.00',
          total_tickets: 500,
          tickets_sold: 13,
          tickets_available: 487,
          max_per_order: 10,
          max_per_user: 4,
          hold_minutes: 10,
          currency: 'EUR',
        },
      },
    ],
  },
);

// A batch hands one event row to all of its buyers: shape it once, not once per answer.
const eventOuts = new WeakMap<TicketWithEvent['event'], ReturnType<typeof toEventOut>>();

function eventOutOf(event: TicketWithEvent['event']) {
  let out = eventOuts.get(event);
  if (!out) {
    out = toEventOut(event);
    eventOuts.set(event, out);
  }
  return out;
}

export function toTicketOut(ticket: TicketWithEvent) {
  return {
    id: ticket.id,
    event_id: ticket.event_id,
    user_id: ticket.user_id,
    status: ticket.status,
    purchase_date: new Date(ticket.purchase_date).toISOString(),
    code: ticket.code,
    checked_in_at: ticket.checked_in_at ? new Date(ticket.checked_in_at).toISOString() : null,
    event: eventOutOf(ticket.event),
  };
}
