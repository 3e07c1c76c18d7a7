import { Type, type Static } from 'typebox';
import { TicketOut } from '../bookings/schemas.js';
import { EventOut } from '../events/schemas.js';
import { Id } from '../http/schemas.js';

export const OrderCreate = Type.Object(
  {
    event_id: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 100, description: 'Seats, all or nothing; at most the event’s max_per_order', examples: [2] }),
    hold: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: reserve the seats for the event’s hold_minutes (status pending) until POST /orders/{id}/confirm',
      }),
    ),
  },
  { examples: [{ event_id: 1, quantity: 2, hold: true }] },
);
export type OrderCreate = Static<typeof OrderCreate>;

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
