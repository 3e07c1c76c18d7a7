import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/client.js';
import { invalidField, ServiceUnavailable } from '../errors.js';
import { IdempotencyKeyTaken, readRecordedSale, type KeyToRecord, type RecordedSale } from '../inventory/idempotency-records.js';
import { findStored, storeRefusal, type Claim } from './repository.js';

// Idempotency-Key (as Stripe's and pretix's APIs): a retry of (user, key) within 24 hours gets the first
// outcome again, same status and body, with `Idempotent-Replayed: true`, and sells nothing.
//
// - A sale records the key in the statement that sells, in the same commit (inventory/idempotency-records.ts).
//   Whatever fails afterwards (the connection at commit, the process), the key has its committed outcome or
//   no row at all; no row means nothing was sold, so the retry is simply served, once.
// - A refusal (4xx) is stored after its answer, best effort: if that store is lost, a retry runs again.
//   A 5xx or 429 is never stored.
// - Nothing is claimed before the work, so no key is ever "in progress" or "unknown" after its request ended.
//   In this process, a twin waits for the first request with its key to end, then finds its outcome. Across
//   processes, the primary key decides: a second sale of one key is a unique violation that undoes its whole
//   statement, and that request then replays the first's outcome.
// - Orders and confirms look the key up before they run. POST /book does not: its batch statement leaves out
//   the buyers whose key already has a row, and only those look it up (one query fewer per keyed booking).
// - Requests without the header cost nothing: no query, and the statements they run are unchanged.

// A refusal that a replay overrides (the waiting room's pass check): a keyed request whose key already has a
// recorded outcome replays it, since a replay sells nothing; any other request gets the refusal.
const refusalsUnlessReplay = new WeakMap<FastifyRequest, Error>();

/** Called before the handler (a preHandler): refuse `request` with `refusal` unless its key replays. */
export function refuseUnlessReplay(request: FastifyRequest, refusal: Error): void {
  refusalsUnlessReplay.set(request, refusal);
}

// Another process recorded the key while this request ran: look it up again. Bounded, in case of a bug.
const MAX_ATTEMPTS = 3;

interface Running {
  claim: Claim;
  end(): void;
}

/**
 * Idempotency for one POST route that sells: `serve` wraps its work, `hooks` go in its options. The route must
 * be authenticated and declare IdempotencyHeaders; `replay` shapes a recorded sale as the route answers it.
 */
export function idempotency(db: Db, replay: (sale: RecordedSale) => unknown, { lookUpFirst }: { lookUpFirst: boolean }) {
  // The request with each (user, key) being served in this process, so that a twin waits instead of racing.
  const inFlight = new Map<string, Promise<void>>();
  const running = new WeakMap<FastifyRequest, Running>();

  // A replay's body is returned like any answer, with its stored status: the route's schema for that status
  // serializes it, as it serialized the first answer.
  async function serve<T>(request: FastifyRequest, reply: FastifyReply, work: (key?: KeyToRecord) => Promise<T>): Promise<T> {
    const key = request.headers['idempotency-key'];
    const refusal = refusalsUnlessReplay.get(request);
    if (typeof key !== 'string') {
      if (refusal) throw refusal;
      return work();
    }
    const claim: Claim = { userId: request.user.id, key, hash: requestHash(request) };
    const id = `${claim.userId} ${key}`;
    for (let attempt = 1; ; attempt++) {
      for (let first = inFlight.get(id); first; first = inFlight.get(id)) await first;
      // POST /book's batch statement finds a recorded key itself (one query fewer per keyed booking); a
      // request that is refused unless it replays looks its key up first, and never runs the work.
      const stored = attempt > 1 || lookUpFirst || refusal ? await findStored(db, claim) : null;
      if (refusal && stored?.request_hash !== claim.hash) throw refusal;
      if (stored) {
        if (stored.request_hash !== claim.hash) {
          throw invalidField(['header', 'idempotency-key'], 'This Idempotency-Key was already used with a different request', 'idempotency_key_reused');
        }
        void reply.code(stored.status_code).header('Idempotent-Replayed', 'true');
        return (stored.status_code < 300 ? replay(readRecordedSale(stored.response)) : stored.response) as T;
      }
      if (attempt > MAX_ATTEMPTS) throw new ServiceUnavailable('Could not settle this Idempotency-Key, retry shortly');
      const end = begin(request, id, claim);
      try {
        return await work({ key, requestHash: claim.hash, unchecked: attempt === 1 && !lookUpFirst });
      } catch (error) {
        if (!(error instanceof IdempotencyKeyTaken)) throw error;
        end();
      }
    }
  }

  function begin(request: FastifyRequest, id: string, claim: Claim): () => void {
    let done!: () => void;
    const ended = new Promise<void>((resolve) => (done = resolve));
    inFlight.set(id, ended);
    const end = () => {
      if (running.get(request)?.end === end) running.delete(request);
      if (inFlight.get(id) === ended) inFlight.delete(id);
      done();
    };
    running.set(request, { claim, end });
    return end;
  }

  // A refusal is final: stored, so that a retry gets it again. The twin waiting in this process is let go after.
  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const served = running.get(request);
    if (!served) return payload;
    try {
      const status = reply.statusCode;
      if (status >= 400 && status < 500 && status !== 429 && typeof payload === 'string') await storeRefusal(db, served.claim, status, payload);
    } catch (error) {
      // Only the replay is lost: a retry runs the request again (it sold nothing).
      request.log.warn({ err: error }, 'idempotency: could not store the refusal');
    } finally {
      served.end();
    }
    return payload;
  }

  // Whatever happened to the answer, the request is over: never leave a twin waiting.
  async function onResponse(request: FastifyRequest): Promise<void> {
    running.get(request)?.end();
  }

  return { serve, hooks: { onSend, onResponse } };
}

// Same route, same path parameters and same body (after validation, keys in any order) is the same request.
function requestHash(request: FastifyRequest): string {
  const params = request.params as Record<string, unknown> | undefined;
  const target = params && Object.keys(params).length > 0 ? `${canonicalJson(params)}\n` : '';
  return createHash('sha256').update(`${request.method} ${request.routeOptions.url ?? request.url}\n${target}${canonicalJson(request.body)}`).digest('hex');
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
