import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { EVENT_COLUMNS, type EventRow } from '../db/rows.js';
import type { NewEventValues } from './values.js';

export async function insertEvent(db: Db, values: NewEventValues, ownerId: number): Promise<EventRow> {
  // Sales settings the owner left out are not named, so the table's defaults apply.
  const settings: [string, number | null | undefined][] = [
    ['max_per_order', values.maxPerOrder],
    ['max_per_user', values.maxPerUser],
    ['hold_minutes', values.holdMinutes],
  ];
  const given = settings.filter(([, value]) => value !== undefined);
  const columns = given.map(([column]) => sql.raw(`, ${column}`));
  const settingValues = given.map(([, value]) => sql`, ${value ?? null}::int`);
  const rows = await queryRows<EventRow>(
    db,
    sql`INSERT INTO events AS e (event_name, date, ticket_price, currency, total_tickets, owner_id${sql.join(columns)})
        VALUES (${values.eventName}, ${values.date.toISOString()}, ${values.ticketPrice}, ${values.currency}, ${values.totalTickets}, ${ownerId}${sql.join(settingValues)})
        RETURNING ${EVENT_COLUMNS}`,
  );
  return rows[0]!;
}

export interface EventFilter {
  upcoming?: boolean;
  nameContains?: string;
  from?: Date;
  to?: Date;
}

/** One page of events by date then id, and how many match the filter in all. */
export async function listEvents(db: Db, filter: EventFilter, skip: number, limit: number): Promise<{ events: EventRow[]; total: number }> {
  const where = whereOf(filter);
  const rows = await queryRows<EventRow & { total_count: number }>(
    db,
    sql`SELECT ${EVENT_COLUMNS}, count(*) OVER ()::int AS total_count
        FROM events e WHERE ${where} ORDER BY e.date, e.id OFFSET ${skip} LIMIT ${limit}`,
  );
  if (rows.length > 0 || skip === 0) return { events: rows, total: rows[0]?.total_count ?? 0 };
  // Past the last page no row carries the count: ask for it on its own (rare).
  const counted = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM events e WHERE ${where}`);
  return { events: [], total: counted[0]!.n };
}

function whereOf(filter: EventFilter): SQL {
  const conditions = [sql`true`];
  if (filter.upcoming) conditions.push(sql`e.date > now()`);
  // The search text is data: LIKE's own wildcards in it are escaped, so "50%" finds "50%", not "50 anything".
  if (filter.nameContains !== undefined) {
    const pattern = `%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(sql`e.event_name ILIKE ${pattern} ESCAPE ${'\\'}`);
  }
  if (filter.from) conditions.push(sql`e.date >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) conditions.push(sql`e.date < ${filter.to.toISOString()}::timestamptz`);
  return sql.join(conditions, sql` AND `);
}
