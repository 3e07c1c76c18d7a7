import { Type, type Static } from 'typebox';
import { Id } from '../http/schemas.js';

export const EventOut = Type.Object(
  {
    id: Type.Integer(),
    event_name: Type.String(),
    date: Type.String({ format: 'date-time' }),
    ticket_price: Type.String({ description: 'Decimal string: money is never a float' }),
    total_tickets: Type.Integer(),
    tickets_sold: Type.Integer(),
    tickets_available: Type.Integer({ description: 'Seats still for sale: total − sold − held by pending orders' }),
  },
  {
    examples: [
      { id: 1, event_name: 'Rust & Roll', date: '2027-06-01T19:30:00.000Z', ticket_price: '50.00', total_tickets: 500, tickets_sold: 12, tickets_available: 488 },
    ],
  },
);
export type EventOut = Static<typeof EventOut>;

const price = Type.Union(
  [
    Type.Number({ exclusiveMinimum: 0, maximum: 99999999.99 }),
    Type.String({ pattern: '^[0-9]{1,8}(\\.[0-9]{1,2})?$' }),
  ],
  { description: 'Greater than 0, at most 2 decimals; a JSON number or a decimal string', examples: ['50.00'] },
);

const eventFields = {
  event_name: Type.String({ minLength: 1, maxLength: 200, description: 'Trimmed; 1 to 200 characters', examples: ['Rust & Roll'] }),
  date: Type.String({
    minLength: 10,
    maxLength: 40,
    description: 'ISO 8601, in the future; without an offset it is read as UTC',
    examples: ['2027-06-01T19:30:00+02:00'],
  }),
  ticket_price: price,
  total_tickets: Type.Integer({ minimum: 1, maximum: 1_000_000, examples: [500] }),
};

export const EventCreate = Type.Object(eventFields);
export type EventCreate = Static<typeof EventCreate>;

export const EventPatch = Type.Partial(Type.Object(eventFields));
export type EventPatch = Static<typeof EventPatch>;

export const EventListQuery = Type.Object({
  skip: Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
});

export const EventIdParams = Type.Object({ id: Id });
