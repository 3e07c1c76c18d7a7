import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, json, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { events, users } from './core.js';

// Webhooks (issue 17): endpoints, and the transactional outbox that is also their delivery queue.

// An organizer's (or admin's) receiver. Scope: one event (event_id), every event of the owner (event_id
// null), or every event (all_events, admins only). `events` lists the webhook event types it wants.
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: serial('id').primaryKey(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    eventId: integer('event_id').references(() => events.id, { onDelete: 'cascade' }),
    allEvents: boolean('all_events').notNull().default(false),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    // `whsec_` + base64; kept in clear because HMAC signing needs it. After a rotation the previous one
    // also signs (a second v1 signature) until previous_secret_expires_at, so receivers can switch over.
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    // Set while one worker (of any process or host) delivers to this endpoint: one delivery at a time, in order.
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    leaseToken: text('lease_token'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // The scope as one indexed key ('e<event id>', 'o<owner id>' or 'a'), so that finding an event's
    // subscribers inside a seat statement is one index scan for three keys, whatever the number of endpoints.
    scopeKey: text('scope_key')
      .notNull()
      .generatedAlwaysAs(
        sql`CASE WHEN event_id IS NOT NULL THEN 'e' || event_id WHEN all_events THEN 'a' ELSE 'o' || owner_id END`,
      ),
  },
  (table) => [
    index('webhook_endpoints_scope_key_idx').on(table.scopeKey),
    index('webhook_endpoints_event_id_idx').on(table.eventId),
    index('webhook_endpoints_owner_id_idx').on(table.ownerId),
  ],
);

// One row per (endpoint, webhook event), written in the same statement or transaction as the change it
// reports; it carries its own delivery state. No foreign key to events: an event.updated must outlive a delete.
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    endpointId: integer('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    eventId: integer('event_id'),
    // The envelope's `data`, in the API's shapes; `json`, not jsonb, keeps the keys in the API's order.
    data: json('data').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // Retried until then, 3 days after the change (or after a manual replay); then failed.
    retryUntil: timestamp('retry_until', { withTimezone: true }).notNull().default(sql`now() + interval '3 days'`),
    status: text('status', { enum: ['pending', 'succeeded', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (table) => [
    check('webhook_outbox_status_valid', sql`${table.status} IN ('pending', 'succeeded', 'failed')`),
    // The one index a new row adds besides the key (each costs the booking statement a B-tree insert per
    // webhook): the worker reads the head of an endpoint's queue in it (pending, by id), the metrics count
    // each endpoint's pending rows, GET .../deliveries reads an endpoint's rows newest first per status, and
    // deleting an endpoint finds its rows.
    index('webhook_outbox_endpoint_status_idx').on(table.endpointId, table.status, table.id),
    // The retention purge (src/webhooks/retention.ts) finds settled rows past their keep time here. A settled
    // row's next_attempt_at is its last attempt. New rows are pending: the seat statements never write to it.
    index('webhook_outbox_settled_idx').on(table.status, table.nextAttemptAt).where(sql`${table.status} <> 'pending'`),
  ],
);

// Every HTTP attempt of a delivery, for GET /webhooks/{id}/deliveries.
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    outboxId: bigint('outbox_id', { mode: 'number' })
      .notNull()
      .references(() => webhookOutbox.id, { onDelete: 'cascade' }),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (table) => [index('webhook_attempts_outbox_id_idx').on(table.outboxId, table.id)],
);
