import { getTableColumns } from 'drizzle-orm';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { events, idempotencyKeys, orders, tickets } from '../db/schema.js';
import type { EventRow } from '../db/rows.js';
import type { OrderRow, TicketRow } from '../db/rows.js';

// An Idempotency-Key is recorded by the statement that sells, in the same commit as the sale: after any
// failure (a lost connection at commit, a killed process) the key has either its committed outcome or no row
// at all, never a claim without an answer. The row holds the sold rows as they were at commit; the first
// answer and every replay are shaped from that same jsonb value, so they are the same bytes.

/** The key of a request that sells, and the hash of the request it names (same key, other request: 422). */
export interface KeyToRecord {
  key: string;
  requestHash: string;
  /** Not looked up before this attempt: it may be a retry, so no answer may come from memory (sold out). */
  unchecked?: boolean;
}

/** What a sale answered, as its rows were at commit. */
export interface RecordedSale {
  order: OrderRow | null;
  event: EventRow;
  tickets: TicketRow[];
}

/**
 * The key is already recorded (another process sold it first, or a row past the replay window is in the
 * way): the statement wrote nothing. The caller looks the key up again and replays what it finds.
 */
export class IdempotencyKeyTaken extends Error {}

/** Throws IdempotencyKeyTaken for a unique violation of the key; any other error as it is. */
export function rethrowKeyTaken(error: unknown): never {
  if (isKeyTaken(error)) throw new IdempotencyKeyTaken('Idempotency-Key already recorded');
  throw error;
}

// The (user_id, key) primary key, named as the schema names it.
const KEY_CONSTRAINT = getTableConfig(idempotencyKeys).primaryKeys[0]!.getName();

function isKeyTaken(error: unknown): boolean {
  const { code, constraint, cause } = (error ?? {}) as { code?: unknown; constraint?: unknown; cause?: unknown };
  // Drizzle wraps the driver's error ("Failed query: ...") and keeps it as `cause`.
  return (code === '23505' && constraint === KEY_CONSTRAINT) || (cause !== undefined && isKeyTaken(cause));
}

// to_jsonb writes numeric as a JSON number (49.90 would come back as 49.9) where the driver gives a string:
// numeric columns are written as text. Derived from the schema, so a new numeric column is covered too.
const columnsOf = (table: PgTable, type: string) =>
  Object.values(getTableColumns(table))
    .filter((column) => column.columnType === type)
    .map((column) => column.name);

function rowJson(alias: string, table: PgTable): string {
  const asText = columnsOf(table, 'PgNumeric').map((name) => `'${name}', ${alias}.${name}::text`);
  return asText.length === 0 ? `to_jsonb(${alias})` : `(to_jsonb(${alias}) || jsonb_build_object(${asText.join(', ')}))`;
}

/** jsonb of a row (or CTE row) of events, tickets or orders; only the columns the alias has. */
export const eventJson = (alias: string) => rowJson(alias, events);
export const ticketJson = (alias: string) => rowJson(alias, tickets);
export const orderJson = (alias: string) => rowJson(alias, orders);

/** Reads a recorded sale back into rows, as the driver would have returned them (timestamps as Dates). */
export function readRecordedSale(json: unknown): RecordedSale {
  const value = json as { order: Record<string, unknown> | null; event: Record<string, unknown>; tickets: Record<string, unknown>[] };
  return {
    order: value.order ? (withDates(value.order, orders) as unknown as OrderRow) : null,
    event: withDates(value.event, events) as unknown as EventRow,
    tickets: value.tickets.map((ticket) => withDates(ticket, tickets) as unknown as TicketRow),
  };
}

function withDates(row: Record<string, unknown>, table: PgTable): Record<string, unknown> {
  const copy = { ...row };
  for (const name of columnsOf(table, 'PgTimestamp')) {
    const value = copy[name];
    if (typeof value === 'string') copy[name] = new Date(value);
  }
  return copy;
}
