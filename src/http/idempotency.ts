import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { queryRows, type Db } from '../db/client.js';
import { AppError, invalidField } from './errors.js';

// Idempotency-Key (as Stripe's and pretix's APIs): the first final answer to (user, key) is stored in
// idempotency_keys and replayed for 24 hours, so a client that retries after a timeout never buys twice.
//
// - Claim: INSERT ... ON CONFLICT DO NOTHING-style (a row older than 24 h is taken over), so of two requests
//   arriving at once exactly one claims the key; the database's unique index decides, in any process.
// - A duplicate that finds the first still in progress waits a little (about 0.8 s, polling) and replays
//   its answer; if the first is still not done, 409 "in progress" with Retry-After, and the client retries.
// - Final answers (2xx, 4xx) are stored and replayed with `Idempotent-Replayed: true`; 5xx and 429 are not
//   final: the claim is let go, so the client may retry with the same key.
// - A claim whose request never finished (the process died) is never taken over within the 24 h: the first
//   booking may have committed, and a second would buy twice. Such a key answers 409, saying so.
// - Requests without the header cost nothing: no query.

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description: 'Any 1..255 printable ASCII characters, unique per purchase (a UUID is ideal). A retry with the same key and body within 24 h replays the first answer.',
      examples: ['8e0f6f0a-4b7e-4c4a-9d57-3c0a2f1b9e11'],
    }),
  ),
});

const REPLAY_WINDOW = sql.raw(`interval '24 hours'`);
// Waits between looks at a key still in progress: about 0.8 s in all, then 409.
const WAIT_STEPS_MS = [25, 50, 100, 200, 400];
// No request runs this long (statement_timeout is 15 s): a claim older than this was abandoned.
const ABANDONED_AFTER_SECONDS = 60;

interface Claim {
  userId: number;
  key: string;
  hash: string;
}

interface Stored {
  request_hash: string;
  status_code: number | null;
  response: unknown;
  age_seconds: number;
}

const claims = new WeakMap<FastifyRequest, Claim>();

/** Route hooks that make a POST idempotent; the route must be authenticated and declare IdempotencyHeaders. */
export function idempotencyHooks(db: Db) {
  // Returning the reply after send() tells Fastify the answer is given (a replay): the handler does not run.
  async function preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') return undefined;
    const claim: Claim = { userId: request.user.id, key, hash: requestHash(request) };
    for (let attempt = 0; ; attempt++) {
      if (await claimKey(db, claim)) {
        claims.set(request, claim);
        return undefined;
      }
      const stored = await findStored(db, claim);
      if (stored) {
        if (stored.request_hash !== claim.hash) {
          throw invalidField(['header', 'idempotency-key'], 'This Idempotency-Key was already used with a different request', 'idempotency_key_reused');
        }
        if (stored.status_code !== null) {
          return reply.code(stored.status_code).header('Idempotent-Replayed', 'true').send(stored.response);
        }
        if (stored.age_seconds > ABANDONED_AFTER_SECONDS) {
          throw new AppError(409, 'The request with this Idempotency-Key never finished and its outcome is unknown; check GET /orders or GET /tickets, then use a new key');
        }
      }
      const wait = WAIT_STEPS_MS[attempt];
      if (wait === undefined) throw new AppError(409, 'A request with this Idempotency-Key is in progress', { 'Retry-After': '1' });
      await sleep(wait);
    }
  }

  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const final = reply.statusCode < 500 && reply.statusCode !== 429 && typeof payload === 'string';
    try {
      if (final) await storeResponse(db, claim, reply.statusCode, payload);
      else await releaseKey(db, claim);
    } catch (error) {
      // The answer itself is right; only its replay is lost. The claim stays and answers 409 (see above).
      request.log.error({ err: error }, 'idempotency: could not record the response');
    }
    return payload;
  }

  return { preHandler, onSend };
}

/** Deletes keys past the 24-hour replay window (the hold sweeper calls it). */
export async function purgeExpiredIdempotencyKeys(db: Db): Promise<void> {
  await db.execute(sql`DELETE FROM idempotency_keys WHERE created_at <= now() - ${REPLAY_WINDOW}`);
}

// The unique (user_id, key) index lets one request in; a row past the window is taken over in place.
async function claimKey(db: Db, { userId, key, hash }: Claim): Promise<boolean> {
  const rows = await queryRows<{ claimed: number }>(
    db,
    sql`INSERT INTO idempotency_keys AS k (user_id, key, request_hash) VALUES (${userId}, ${key}, ${hash})
        ON CONFLICT (user_id, key) DO UPDATE
          SET request_hash = EXCLUDED.request_hash, status_code = NULL, response = NULL, created_at = now()
          WHERE k.created_at <= now() - ${REPLAY_WINDOW}
        RETURNING 1 AS claimed`,
  );
  return rows.length > 0;
}

async function findStored(db: Db, { userId, key }: Claim): Promise<Stored | null> {
  const rows = await queryRows<Stored>(
    db,
    sql`SELECT request_hash, status_code, response, extract(epoch FROM now() - created_at)::float8 AS age_seconds
        FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key} AND created_at > now() - ${REPLAY_WINDOW}`,
  );
  return rows[0] ?? null;
}

async function storeResponse(db: Db, { userId, key, hash }: Claim, statusCode: number, payload: string): Promise<void> {
  await db.execute(
    sql`UPDATE idempotency_keys SET status_code = ${statusCode}, response = ${payload}::jsonb
        WHERE user_id = ${userId} AND key = ${key} AND request_hash = ${hash} AND status_code IS NULL`,
  );
}

async function releaseKey(db: Db, { userId, key, hash }: Claim): Promise<void> {
  await db.execute(
    sql`DELETE FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key} AND request_hash = ${hash} AND status_code IS NULL`,
  );
}

// Same route and same body (after validation, keys in any order) is the same request.
function requestHash(request: FastifyRequest): string {
  return createHash('sha256').update(`${request.method} ${request.routeOptions.url ?? request.url}\n${canonicalJson(request.body)}`).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
