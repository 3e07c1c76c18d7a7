import { sql } from 'drizzle-orm';
import { check, index, integer, numeric, pgTable, serial, text, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';

// Table names are part of the contract: operators read them in pgAdmin and report on them in SQL.

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    email: varchar('email', { length: 320 }).notNull(),
    // The bcrypt hash, never the password; named as the old service named it so its reports keep working.
    password: varchar('password', { length: 100 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('users_email_lower_key').on(sql`lower(${table.email})`)],
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
    ownerId: integer('owner_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('events_tickets_sold_range', sql`${table.ticketsSold} >= 0 AND ${table.ticketsSold} <= ${table.totalTickets}`),
    check('events_total_tickets_positive', sql`${table.totalTickets} > 0`),
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
  },
  (table) => [
    check('tickets_status_valid', sql`${table.status} IN ('booked', 'cancelled')`),
    index('tickets_event_id_status_idx').on(table.eventId, table.status),
    index('tickets_user_id_idx').on(table.userId, table.id),
  ],
);
