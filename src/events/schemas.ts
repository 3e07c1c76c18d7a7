import { Type, type Static } from 'typebox';
import { EventOut } from '../shapes/events.js';


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
  // Optional, so clients that predate it keep working: the server's CURRENCY setting applies.
  currency: Type.Optional(
    Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code (any letter case); default: the server’s CURRENCY setting', examples: ['EUR'] }),
  ),
  total_tickets: Type.Integer({ minimum: 1, maximum: 1_000_000, examples: [500] }),
};

// Sales settings, optional on create (defaults: 10 per order, no per-buyer limit, 10-minute holds).
const salesSettings = {
  max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Most seats one order may take; default 10', examples: [10] })),
  // A type list, not anyOf: with type coercion on, anyOf would read 0 as null ("no limit") instead of refusing it.
  max_per_user: Type.Optional(
    Type.Unsafe<number | null>({
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 1_000_000,
      description: 'Most seats one buyer may own (booked) and hold (pending) in total; null: no limit (the default)',
      examples: [4],
    }),
  ),
  hold_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, description: 'How long a hold keeps its seats; default 10', examples: [10] })),
};

export const EventCreate = Type.Object({ ...eventFields, ...salesSettings });
export type EventCreate = Static<typeof EventCreate>;

export const EventPatch = Type.Partial(Type.Object({ ...eventFields, ...salesSettings }));
export type EventPatch = Static<typeof EventPatch>;

export const EventListQuery = Type.Object({
  // Optional for clients (the defaults fill them in), so typed clients need not pass them.
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  upcoming: Type.Optional(Type.Boolean({ description: 'true: only events still to come (date after now)' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Case-insensitive part of the name', examples: ['rust'] })),
  from: Type.Optional(Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601; events on or after it', examples: ['2027-06-01'] })),
  to: Type.Optional(Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601; events before it (exclusive)', examples: ['2027-07-01'] })),
});
export type EventListQuery = Static<typeof EventListQuery>;

export const EventListOut = Type.Array(EventOut, {
  // Read by @fastify/swagger into the response's documented headers.
  headers: {
    'X-Total-Count': { type: 'integer', description: 'Events matching the filters, all pages' },
    Link: { type: 'string', description: '`<...>; rel="next"` with the next page, when there is one' },
  },
});

