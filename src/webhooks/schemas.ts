import { Type, type Static } from 'typebox';
import { CANONICAL_ID } from '../http/ids.js';
import { Id } from '../shapes/common.js';
import { DELIVERED_TYPES } from '../outbox/types.js';

export const WebhookEventTypeSchema = Type.Enum(DELIVERED_TYPES, {
  description: 'A webhook event type; `ping` is sent by POST /webhooks/{id}/test whether it is listed or not',
});

export const WebhookCreate = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'Where to POST: https:// (http:// only outside production or with WEBHOOKS_ALLOW_HTTP=true); public addresses only',
    }),
    events: Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: DELIVERED_TYPES.length, uniqueItems: true }),
    event_id: Type.Optional({
      ...Id,
      description: 'Only this event (its owner or an admin). Left out: every event of the caller (an organizer), or every event (an admin)',
    } as typeof Id),
  },
  { examples: [{ url: 'https://shop.example.com/bookfast', events: ['ticket.booked', 'ticket.checked_in'], event_id: 1 }] },
);
export type WebhookCreate = Static<typeof WebhookCreate>;

const endpointFields = {
  id: Type.Integer(),
  url: Type.String(),
  events: Type.Array(WebhookEventTypeSchema),
  event_id: Type.Union([Type.Integer(), Type.Null()]),
  scope: Type.Union([Type.Literal('event'), Type.Literal('owner'), Type.Literal('all')], {
    description: 'event: event_id only; owner: every event of the endpoint’s owner; all: every event (admins)',
  }),
  owner_id: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
};

export const WebhookOut = Type.Object(endpointFields);
export type WebhookOut = Static<typeof WebhookOut>;

export const WebhookWithSecretOut = Type.Object({
  ...endpointFields,
  secret: Type.String({ description: 'The signing secret (whsec_ + base64), shown only now: store it', examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }),
});
export type WebhookWithSecretOut = Static<typeof WebhookWithSecretOut>;

export const WebhookList = Type.Array(WebhookOut);

export const AttemptOut = Type.Object({
  attempted_at: Type.String({ format: 'date-time' }),
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'The receiver’s answer; null when there was none' }),
  error: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Integer(),
});

export const DeliveryOut = Type.Object({
  id: Type.Integer({ description: 'The delivery; POST .../deliveries/{id}/retry replays it' }),
  webhook_id: Type.String({ description: 'The Webhook-Id header and the envelope’s id, the same on every attempt' }),
  type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')], {
    description: 'failed: still refused after 3 days of retries',
  }),
  created_at: Type.String({ format: 'date-time' }),
  attempts: Type.Integer(),
  next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it is tried next; null unless pending' }),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  history: Type.Array(AttemptOut, { description: 'The latest attempts, newest first (at most 20)' }),
});
export type DeliveryOut = Static<typeof DeliveryOut>;

export const DeliveryList = Type.Array(DeliveryOut);

export const DeliveryParams = Type.Object({ id: Id, delivery: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, [CANONICAL_ID]: true }) });

export const DeliveryQuery = Type.Object({
  skip: Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
});
export type DeliveryQuery = Static<typeof DeliveryQuery>;
