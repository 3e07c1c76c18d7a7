import { Type } from 'typebox';
import { EventOut } from '../events/schemas.js';
import { Id } from '../http/schemas.js';

export const BookBody = Type.Object({ event_id: Id });

export const TicketOut = Type.Object(
  {
    id: Type.Integer(),
    event_id: Type.Integer(),
    user_id: Type.Integer(),
    status: Type.Union([Type.Literal('booked'), Type.Literal('cancelled')]),
    purchase_date: Type.String({ format: 'date-time' }),
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
        event: { id: 1, event_name: 'Rust & Roll', date: '2027-06-01T19:30:00.000Z', ticket_price: '50.00', total_tickets: 500, tickets_sold: 13 },
      },
    ],
  },
);
