import { Type, type Static } from 'typebox';
import { EventOut } from '../shapes/events.js';

export const StatsOut = Type.Object(
  {
    event_id: Type.Integer(),
    capacity: Type.Integer({ description: 'total_tickets' }),
    sold: Type.Integer({ description: 'Tickets booked (not cancelled)' }),
    held: Type.Integer({ description: 'Seats held by pending orders' }),
    available: Type.Integer({ description: 'capacity − sold − held' }),
    cancelled: Type.Integer(),
    checked_in: Type.Integer({ description: 'Tickets admitted at the door' }),
    revenue: Type.String({
      description: 'Exact decimal string: the price paid for every ticket still booked, summed in SQL numeric (a later price edit changes nothing)',
    }),
    currency: Type.String({ description: 'ISO 4217 code of revenue (the event’s currency)' }),
    sales_per_hour: Type.Array(
      Type.Object({ hour: Type.String({ format: 'date-time', description: 'Start of the UTC hour' }), sold: Type.Integer() }),
      { description: 'Tickets still booked, by the hour they were bought; hours with none are left out' },
    ),
  },
  {
    examples: [
      {
        event_id: 1,
        capacity: 500,
        sold: 3,
        held: 2,
        available: 495,
        cancelled: 1,
        checked_in: 1,
        revenue: '150.00',
        currency: 'EUR',
        sales_per_hour: [
          { hour: '2027-05-01T09:00:00.000Z', sold: 2 },
          { hour: '2027-05-01T11:00:00.000Z', sold: 1 },
        ],
      },
    ],
  },
);
export type StatsOut = Static<typeof StatsOut>;

export const AttendeeOut = Type.Object({
  ticket_id: Type.Integer(),
  user_id: Type.Integer(),
  email: Type.String(),
  status: Type.Union([Type.Literal('booked'), Type.Literal('cancelled')]),
  purchase_date: Type.String({ format: 'date-time' }),
  checked_in_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  price: Type.String({ description: 'What was paid for this ticket, as a decimal string (the price when it was sold)' }),
});

export const AttendeesOut = Type.Object(
  { event: EventOut, attendees: Type.Array(AttendeeOut) },
  {
    examples: [
      {
        event: { id: 1, event_name: 'Rust & Roll', date: '2027-06-01T19:30:00.000Z', ticket_price: '50.00', total_tickets: 500, tickets_sold: 1, tickets_available: 499, max_per_order: 10, max_per_user: null, hold_minutes: 10, currency: 'EUR' },
        attendees: [
          {
            ticket_id: 7,
            user_id: 3,
            email: 'ada@example.com',
            status: 'booked',
            purchase_date: '2027-05-01T09:12:00.000Z',
            checked_in_at: null,
            price: '50.00',
          },
        ],
      },
    ],
  },
);
export type AttendeesOut = Static<typeof AttendeesOut>;

// currency comes last, so readers of the earlier columns by position keep working.
export const ATTENDEES_CSV_HEADER = ['ticket_id', 'user_id', 'email', 'status', 'purchase_date', 'checked_in_at', 'price', 'currency'] as const;

export const AttendeesQuery = Type.Object({
  skip: Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});
