import { sql } from 'drizzle-orm';
import { bigserial, check, doublePrecision, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { events, users } from './core.js';

// Waiting room (issue 14): one room per event; the admission leader is the only writer of its counters.
export const waitingRooms = pgTable(
  'waiting_rooms',
  {
    eventId: integer('event_id')
      .primaryKey()
      .references(() => events.id, { onDelete: 'cascade' }),
    state: text('state', { enum: ['open', 'paused', 'passthrough', 'closed'] }).notNull().default('open'),
    prequeueOpensAt: timestamp('prequeue_opens_at', { withTimezone: true }).notNull(),
    onsaleAt: timestamp('onsale_at', { withTimezone: true }).notNull(),
    admitPerMinute: integer('admit_per_minute').notNull(),
    maxActive: integer('max_active').notNull(),
    passMinutes: integer('pass_minutes').notNull(),
    graceSeconds: integer('grace_seconds').notNull(),
    // The shuffle's seed, kept so the pre-queue's order can be re-derived in an audit.
    seed: text('seed').notNull(),
    shuffledAt: timestamp('shuffled_at', { withTimezone: true }),
    // Highest position handed out, and the position the serving counter has passed (admitted or skipped).
    lastPosition: integer('last_position').notNull().default(0),
    servedUpTo: integer('served_up_to').notNull().default(0),
    // Fractional admissions owed (the smoothing of admit_per_minute across ticks) and when the leader last ran.
    admitCredit: doublePrecision('admit_credit').notNull().default(0),
    lastTickAt: timestamp('last_tick_at', { withTimezone: true }),
    // Counts written by the leader each tick, read by every process: GET answers never count rows.
    waiting: integer('waiting').notNull().default(0),
    active: integer('active').notNull().default(0),
    admittedTotal: integer('admitted_total').notNull().default(0),
    abandonedTotal: integer('abandoned_total').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('waiting_rooms_state_valid', sql`${table.state} IN ('open', 'paused', 'passthrough', 'closed')`),
    check(
      'waiting_rooms_settings_valid',
      sql`${table.prequeueOpensAt} <= ${table.onsaleAt} AND ${table.admitPerMinute} BETWEEN 1 AND 1000000 AND ${table.maxActive} >= 1
          AND ${table.passMinutes} BETWEEN 1 AND 120 AND ${table.graceSeconds} BETWEEN 5 AND 3600`,
    ),
  ],
);

// One place per account and room. position is null in the pre-queue until the shuffle, then fixed.
export const queueEntries = pgTable(
  'queue_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => waitingRooms.eventId, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
    position: integer('position'),
    status: text('status', { enum: ['waiting', 'admitted', 'abandoned'] }).notNull().default('waiting'),
    // Presence: the last poll, written at most every few seconds per buyer (coalesced), never per poll.
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    admittedAt: timestamp('admitted_at', { withTimezone: true }),
    passId: uuid('pass_id'),
    passExpiresAt: timestamp('pass_expires_at', { withTimezone: true }),
    // A purchase made with the pass: its slot in `active` is free from then on.
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (table) => [
    check('queue_entries_status_valid', sql`${table.status} IN ('waiting', 'admitted', 'abandoned')`),
    uniqueIndex('queue_entries_event_user_key').on(table.eventId, table.userId),
    uniqueIndex('queue_entries_event_position_key').on(table.eventId, table.position),
    index('queue_entries_waiting_idx').on(table.eventId, table.position).where(sql`${table.status} = 'waiting'`),
    index('queue_entries_active_idx').on(table.eventId, table.passExpiresAt).where(sql`${table.status} = 'admitted' AND ${table.completedAt} IS NULL`),
    index('queue_entries_admitted_at_idx').on(table.eventId, table.admittedAt).where(sql`${table.admittedAt} IS NOT NULL`),
    index('queue_entries_pass_id_idx').on(table.passId).where(sql`${table.passId} IS NOT NULL`),
  ],
);
