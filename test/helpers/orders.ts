import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../../src/db/client.js';

export interface OrderBody {
  id: number;
  event_id: number;
  user_id: number;
  status: 'pending' | 'confirmed' | 'cancelled' | 'expired';
  quantity: number;
  tickets: { id: number; status: string; event_id: number; user_id: number }[];
  total_price: string;
  created_at: string;
  expires_at: string | null;
  event: { id: number; tickets_sold: number; tickets_available: number };
}

/** POST to the real server; returns the status, the body and the response headers. */
export async function postOverHttp(baseUrl: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

/** Simulates time passing for a hold: the test owns the database, so it moves expires_at into the past. */
export async function expireHold(database: Database, orderId: number): Promise<void> {
  await database.db.execute(sql`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = ${orderId}`);
}

export async function orderStatus(database: Database, orderId: number): Promise<string> {
  const rows = await queryRows<{ status: string }>(database.db, sql`SELECT status FROM orders WHERE id = ${orderId}`);
  return rows[0]!.status;
}

export async function count(database: Database, query: ReturnType<typeof sql>): Promise<number> {
  const rows = await queryRows<{ n: number }>(database.db, query);
  return rows[0]!.n;
}

/** A buyer's seats in an event, as the per-buyer limit counts them: booked tickets plus seats of pending holds. */
export function seatsOf(database: Database, eventId: number, userId: number): Promise<number> {
  return count(
    database,
    sql`SELECT (SELECT count(*) FROM tickets WHERE event_id = ${eventId} AND user_id = ${userId} AND status = 'booked')::int
             + (SELECT COALESCE(sum(quantity), 0) FROM orders WHERE event_id = ${eventId} AND user_id = ${userId} AND status = 'pending')::int AS n`,
  );
}
