import { Type, type Static } from 'typebox';

// Read with the events' ISO 8601 parser (a bad date is a 422 with its field named).
const instant = (description: string) => Type.String({ minLength: 10, maxLength: 40, description, examples: ['2027-06-01T10:00:00.000Z'] });

/** What PUT /events/{id}/waiting-room assumes for a field left out (times are decided at the request). */
export const ROOM_DEFAULTS = { admit_per_minute: 60, pass_minutes: 10, grace_seconds: 30 } as const;

export const RoomSettingsBody = Type.Object(
  {
    prequeue_opens_at: Type.Optional(
      instant('From when buyers may join; everyone who joins before onsale_at gets a random place at onsale_at. Default: now, or onsale_at if that is earlier'),
    ),
    onsale_at: Type.Optional(instant('The start of the sale; before it POST /book and POST /orders answer 403 "Not on sale yet". Default: now')),
    admit_per_minute: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, default: ROOM_DEFAULTS.admit_per_minute, description: 'Admissions per minute, spread evenly over each second' }),
    ),
    max_active: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 2147483647,
        description: 'Most passes active at once (issued, unexpired, purchase not completed). Default: admit_per_minute × pass_minutes, which caps nothing the rate does not',
      }),
    ),
    pass_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 120, default: ROOM_DEFAULTS.pass_minutes, description: 'How long a pass lets its holder buy' })),
    grace_seconds: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 3600, default: ROOM_DEFAULTS.grace_seconds, description: 'Whoever has not polled this long when their turn comes is skipped' }),
    ),
  },
  { additionalProperties: false },
);
export type RoomSettingsBody = Static<typeof RoomSettingsBody>;

export const RoomStateSchema = Type.Union([Type.Literal('open'), Type.Literal('paused'), Type.Literal('passthrough'), Type.Literal('closed')], {
  description: 'open: admitting at the set rate; paused: nobody more admitted; passthrough: no pass needed; closed: the sale through the room is over',
});

export const RoomPatchBody = Type.Object(
  {
    state: Type.Optional(RoomStateSchema),
    admit_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    max_active: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type RoomPatchBody = Static<typeof RoomPatchBody>;

export const WaitingRoomOut = Type.Object({
  event_id: Type.Integer(),
  state: RoomStateSchema,
  prequeue_opens_at: Type.String({ format: 'date-time' }),
  onsale_at: Type.String({ format: 'date-time' }),
  admit_per_minute: Type.Integer(),
  max_active: Type.Integer(),
  pass_minutes: Type.Integer(),
  grace_seconds: Type.Integer(),
  waiting: Type.Integer({ description: 'In line, not yet admitted or skipped (pre-queue included); about a second old at most' }),
  active: Type.Integer({ description: 'Passes issued, unexpired, whose purchase has not completed' }),
  admitted_total: Type.Integer(),
  abandoned_total: Type.Integer(),
});
export type WaitingRoomOut = Static<typeof WaitingRoomOut>;

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description: string) =>
  Type.Union([schema, Type.Null()], { description });

export const QueueEntryOut = Type.Object({
  event_id: Type.Integer(),
  user_id: Type.Integer(),
  status: Type.Union(
    [Type.Literal('waiting'), Type.Literal('admitted'), Type.Literal('expired'), Type.Literal('abandoned'), Type.Literal('closed')],
    { description: 'closed: the room closed or the event sold out; join the waiting list at /events/{id}/waitlist' },
  ),
  position: nullable(Type.Integer(), '1-based and fixed; null in the pre-queue until the shuffle at onsale_at'),
  ahead: nullable(Type.Integer(), 'People still waiting in front of you; null until you have a position'),
  estimated_wait_seconds: nullable(
    Type.Integer(),
    'Time to onsale_at plus your place at the current rate; in the pre-queue your place is not drawn yet, so it counts the middle of those in it. Null once the line is not waiting (closed, abandoned)',
  ),
  pass: nullable(Type.String(), 'Send it as the Queue-Pass header of POST /book, POST /orders and POST /orders/{id}/confirm'),
  pass_expires_at: nullable(Type.String({ format: 'date-time' }), 'When the pass stops working'),
  detail: Type.Optional(Type.String({ description: 'What to do next, when there is something to say' })),
});
export type QueueEntryOut = Static<typeof QueueEntryOut>;

export const StreamTokenOut = Type.Object({
  token: Type.String({ description: 'Opens GET /events/{id}/queue/stream?token=... for the next minute' }),
  expires_in: Type.Integer({ description: 'Seconds' }),
});

export const StreamQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

export const QueuePassHeaders = Type.Object({
  'queue-pass': Type.Optional(
    Type.String({ maxLength: 200, description: 'While the event has a waiting room open or paused: your pass from GET /events/{id}/queue/me' }),
  ),
});
