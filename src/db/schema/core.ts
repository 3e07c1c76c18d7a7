import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, numeric, pgTable, primaryKey, serial, text, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';

// Table names are part of the contract: operators read them in pgAdmin and report on them in SQL.

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    email: varchar('email', { length: 320 }).notNull(),
    // The bcrypt hash, never the password; named as the old service named it so its reports keep working.
    password: varchar('password', { length: 100 }).notNull(),
    role: text('role', { enum: ['customer', 'organizer', 'admin'] }).notNull().default('customer'),
    // Bumped by a password change or POST /logout: tokens carrying an older version are refused.
    tokenVersion: integer('token_version').notNull().default(0),
    // When token_version was last bumped: every process polls the recent ones (src/auth/token-versions.ts).
    tokenRevokedAt: timestamp('token_revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('users_token_revoked_at_idx').on(table.tokenRevokedAt),
    uniqueIndex('users_email_lower_key').on(sql`lower(${table.email})`),
    check('users_role_valid', sql`${table.role} IN ('customer', 'organizer', 'admin')`),
  ],
);

// Accounts deleted (in SQL: the API deletes none), written by a trigger (migration 0014) so that every process
// hears of it with the token revocations (src/auth/token-versions.ts) and refuses the account's tokens.
export const usersDeleted = pgTable(
  'users_deleted',
  {
    userId: integer('user_id').notNull(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('users_deleted_deleted_at_idx').on(table.deletedAt)],
);

export const events = pgTable(
  'events',
  {
    id: serial('id').primaryKey(),
    eventName: varchar('event_name', { length: 200 }).notNull(),
    date: timestamp('date', { withTimezone: true }).notNull(),
    ticketPrice: numeric('ticket_price', { precision: 10, scale: 2 }).notNull(),
    totalTickets: integer('total_tickets').notNull(),
    // Kept out of every index so that its updates stay HOT (heap-only) on the flash-sale path.
    ticketsSold: integer('tickets_sold').notNull().default(0),
    // Seats reserved by pending orders (holds); also kept out of every index.
    ticketsHeld: integer('tickets_held').notNull().default(0),
    maxPerOrder: integer('max_per_order').notNull().default(10),
    maxPerUser: integer('max_per_user'),
    holdMinutes: integer('hold_minutes').notNull().default(10),
    // People in this event's waiting list (rows of waitlist), kept under the event's row lock by join, leave
    // and promotion: every selling statement sells only free - waiting, so seats that come back while people
    // wait are theirs. A column, not a count, so a statement reads it from the row it locked (see src/inventory/INVARIANTS.md).
    waiting: integer('waiting').notNull().default(0),
    // ISO 4217 code of ticket_price. The service always names it (from CURRENCY when the owner does not);
    // the default only fills in events made before the column existed.
    currency: varchar('currency', { length: 3 }).notNull().default('EUR'),
    ownerId: integer('owner_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('events_tickets_sold_range', sql`${table.ticketsSold} >= 0 AND ${table.ticketsSold} <= ${table.totalTickets}`),
    check(
      'events_seats_range',
      sql`${table.ticketsHeld} >= 0 AND ${table.ticketsSold} + ${table.ticketsHeld} <= ${table.totalTickets}`,
    ),
    check('events_total_tickets_positive', sql`${table.totalTickets} > 0`),
    check('events_waiting_nonnegative', sql`${table.waiting} >= 0`),
    check('events_currency_code', sql`${table.currency} ~ '^[A-Z]{3}$'`),
    check('events_limits_valid', sql`${table.maxPerOrder} >= 1 AND (${table.maxPerUser} IS NULL OR ${table.maxPerUser} >= 1) AND ${table.holdMinutes} >= 1`),
    index('events_date_id_idx').on(table.date, table.id),
    index('events_owner_id_idx').on(table.ownerId),
  ],
);

export const tickets = pgTable(
  'tickets',
  {
    id: serial('id').primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    purchaseDate: timestamp('purchase_date', { withTimezone: true }).notNull().defaultNow(),
    status: text('status', { enum: ['booked', 'cancelled'] }).notNull().default('booked'),
    orderId: integer('order_id').references(() => orders.id, { onDelete: 'cascade' }),
    // The check-in code: the issue time in microseconds (14 hex digits), then 122 bits from PostgreSQL's
    // strong random source (gen_random_uuid) in URL-safe base64. The secret is the random part; the time
    // prefix makes new codes land at the right end of tickets_code_key instead of on a random page of it,
    // which cut PostgreSQL's CPU per booked ticket by about 5 µs (a third of an insert) in a 500,000-row table.
    // Codes issued before (43 random characters) stay valid: only the default changed.
    code: text('code')
      .notNull()
      .default(
        sql`lpad(to_hex((extract(epoch from clock_timestamp()) * 1000000)::bigint), 14, '0') || rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=')`,
      ),
    checkedInAt: timestamp('checked_in_at', { withTimezone: true }),
    // What the buyer paid for this seat, fixed at the sale: a later price edit never rewrites it.
    price: numeric('price', { precision: 10, scale: 2 }).notNull(),
  },
  (table) => [
    check('tickets_status_valid', sql`${table.status} IN ('booked', 'cancelled')`),
    // user_id last: a limited event's batch counts each buyer's seats there (inventory/order-batch.sql.ts).
    index('tickets_event_status_user_idx').on(table.eventId, table.status, table.userId),
    index('tickets_user_id_idx').on(table.userId, table.id),
    index('tickets_order_id_idx').on(table.orderId),
    uniqueIndex('tickets_code_key').on(table.code),
  ],
);

export const orders = pgTable(
  'orders',
  {
    id: serial('id').primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    status: text('status', { enum: ['pending', 'confirmed', 'cancelled', 'expired'] }).notNull(),
    quantity: integer('quantity').notNull(),
    totalPrice: numeric('total_price', { precision: 12, scale: 2 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // Set while the order is a hold (status pending): when its seats go back to sale.
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    // A waiting-list offer (made by the promoter): its own admission, confirmed without a queue pass.
    fromWaitlist: boolean('from_waitlist').notNull().default(false),
  },
  (table) => [
    check('orders_status_valid', sql`${table.status} IN ('pending', 'confirmed', 'cancelled', 'expired')`),
    check('orders_quantity_positive', sql`${table.quantity} > 0`),
    index('orders_user_id_idx').on(table.userId, table.id),
    index('orders_event_status_user_idx').on(table.eventId, table.status, table.userId),
    index('orders_pending_expiry_idx').on(table.expiresAt).where(sql`${table.status} = 'pending'`),
  ],
);

// A client's retry key and the outcome it got, replayed for 24 hours. A row exists only for a finished
// outcome: a sale writes it in the statement that sells (same commit), a refusal after its answer.
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    key: varchar('key', { length: 255 }).notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    // 2xx: the rows sold as they were at commit ({order?, event, tickets}), shaped again on replay; 4xx: the body.
    response: jsonb('response').notNull(),
    // What the key bought, if anything (links for audits, not foreign keys: a replay needs only `response`).
    ticketId: integer('ticket_id'),
    orderId: integer('order_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.key] }), index('idempotency_keys_created_at_idx').on(table.createdAt)],
);

// Buyers waiting for a sold-out event, first come first served.
export const waitlist = pgTable(
  'waitlist',
  {
    id: serial('id').primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('waitlist_event_user_key').on(table.eventId, table.userId), index('waitlist_event_id_idx').on(table.eventId, table.id)],
);

// Abuse-limit counters that every process and host shares (issue 12): logins per address, failures per
// account, registrations per address. One row per key and window; expired rows are purged once a minute.
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    key: text('key').primaryKey(),
    hits: integer('hits').notNull(),
    resetAt: timestamp('reset_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('rate_limit_counters_reset_at_idx').on(table.resetAt)],
);

// One row per job that only one process at a time may run (the hold sweeper, ...): whoever holds an unexpired
// lease runs it. Taken and renewed by one statement (src/db/leader.ts), so it works through a pooler too.
export const leaderLeases = pgTable('leader_leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
