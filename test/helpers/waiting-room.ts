import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { queryRows, type Database, type Db } from '../../src/db/client.js';
import type { TestUser } from './factories.js';

export interface QueueEntry {
  event_id: number;
  user_id: number;
  status: 'waiting' | 'admitted' | 'expired' | 'abandoned' | 'closed';
  position: number | null;
  ahead: number | null;
  estimated_wait_seconds: number | null;
  pass: string | null;
  pass_expires_at: string | null;
  detail?: string;
}

export interface RoomSettings {
  prequeue_opens_at: string;
  onsale_at: string;
  admit_per_minute: number;
  max_active: number;
  pass_minutes: number;
  grace_seconds: number;
}

export const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

export function roomSettings(overrides: Partial<RoomSettings> = {}): RoomSettings {
  return { prequeue_opens_at: inSeconds(-60), onsale_at: inSeconds(-1), admit_per_minute: 6000, max_active: 1000, pass_minutes: 10, grace_seconds: 30, ...overrides };
}

export async function putRoom(app: FastifyInstance, owner: TestUser, eventId: number, settings: RoomSettings) {
  const response = await app.inject({ method: 'PUT', url: `/events/${eventId}/waiting-room`, headers: owner.auth, payload: settings });
  if (response.statusCode !== 200) throw new Error(`PUT waiting-room failed: ${response.body}`);
  // Other processes learn of it at their next tick; this one knows at once (the route updated its list).
  return response.json<Record<string, unknown>>();
}

export async function join(app: FastifyInstance, user: TestUser, eventId: number) {
  return app.inject({ method: 'POST', url: `/events/${eventId}/queue`, headers: user.auth });
}

export async function poll(app: FastifyInstance, user: TestUser, eventId: number): Promise<QueueEntry> {
  const response = await app.inject({ method: 'GET', url: `/events/${eventId}/queue/me`, headers: user.auth });
  if (response.statusCode !== 200) throw new Error(`poll failed: ${response.statusCode} ${response.body}`);
  return response.json<QueueEntry>();
}

/** Polls (as a present buyer does) until the entry leaves `waiting`, or throws after `timeoutMs`. */
export async function pollUntilDone(app: FastifyInstance, user: TestUser, eventId: number, timeoutMs = 20_000): Promise<QueueEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = await poll(app, user, eventId);
    if (entry.status !== 'waiting') return entry;
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms: ${JSON.stringify(entry)}`);
    await sleep(50);
  }
}

/**
 * Many accounts at once, without bcrypt: rows inserted directly, each with a real token signed by the app
 * (the way /login signs them), for tests that need hundreds of buyers.
 */
export async function manyUsers(app: FastifyInstance, database: Database, count: number): Promise<TestUser[]> {
  const prefix = randomBytes(5).toString('hex');
  const rows = await queryRows<{ id: number; email: string; token_version: number }>(
    database.db,
    sql`INSERT INTO users (email, password)
        SELECT 'crowd-' || ${prefix} || '-' || i || '@example.com', 'not-a-hash' FROM generate_series(1, ${count}) AS i
        RETURNING id, email, token_version`,
  );
  return rows
    .sort((a, b) => a.id - b.id)
    .map((row) => {
      const token = app.issueToken({ id: row.id, email: row.email, tokenVersion: row.token_version });
      return { id: row.id, email: row.email, token, auth: { authorization: `Bearer ${token}` } };
    });
}

/** The most admissions any one-second window [t, t + 1 s) holds, among admissions after `since` (ms). */
export async function busiestSecond(db: Db, eventId: number, since = 0): Promise<number> {
  const rows = await queryRows<{ at: number }>(
    db,
    sql`SELECT (extract(epoch FROM admitted_at) * 1000)::float8 AS at FROM queue_entries
        WHERE event_id = ${eventId} AND admitted_at IS NOT NULL ORDER BY admitted_at`,
  );
  const times = rows.map((row) => row.at).filter((at) => at > since);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

