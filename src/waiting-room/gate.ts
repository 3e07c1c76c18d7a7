import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Type, type TObject } from 'typebox';
import { Conflict, Forbidden } from '../errors.js';
import { refuseUnlessReplay } from '../idempotency/wrapper.js';
import { findOrderToConfirm } from './repository.js';
import type { Db } from '../db/client.js';
import type { WaitingRoomRuntime } from './runtime.js';
import { QueuePassHeaders } from './schemas.js';

// The waiting room's check on the purchase routes (POST /book, POST /orders, POST /orders/{id}/confirm).
// It reads only this process's room list (at most a tick old) and verifies the Queue-Pass header with an
// HMAC: no database or Redis round trip on the booking path. Its refusal is never stored as a key's answer;
// a request whose Idempotency-Key already has a recorded outcome replays it instead (a replay sells nothing,
// so a retry after the pass expired still gets its first answer): the refusal is handed to the idempotency
// wrapper, which answers it unless the key replays (one key lookup, only on that refused path).

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The selling route's pass check: 'purchase' reads body.event_id, 'confirm' the order of params.id. */
    queuePass?: 'purchase' | 'confirm';
  }
}

const passUsed = new WeakMap<FastifyRequest, string>();

export const passRequired = (eventId: number) => new Forbidden(`A queue pass is required: join the queue at /events/${eventId}/queue`);
/** A closed room after onsale_at: the paced sale is over, its seats go to the waiting list in order. */
export const salesClosed = (eventId: number) => new Conflict(`Sales are closed: join the waiting list at /events/${eventId}/waitlist`);

export type QueueGate = ReturnType<typeof queueGate>;

export function queueGate(room: WaitingRoomRuntime, db: Db) {
  // A valid pass is remembered whatever the room's state (passthrough, closed, deleted): its completed
  // purchase frees its slot in `active` all the same.
  function notePass(request: FastifyRequest, eventId: number): boolean {
    const header = request.headers['queue-pass'];
    const pass = typeof header === 'string' ? room.passes.verifyPass(header, eventId, request.user.id) : null;
    if (pass) passUsed.set(request, pass.id);
    return pass !== null;
  }

  function checkPurchase(request: FastifyRequest, eventId: number): void {
    const hasPass = notePass(request, eventId);
    const found = room.room(eventId);
    if (!found) return;
    if (Date.now() < new Date(found.onsale_at).getTime()) return refuse(request, new Forbidden('Not on sale yet'));
    if (found.state === 'closed') return refuse(request, salesClosed(eventId));
    if ((found.state === 'open' || found.state === 'paused') && !hasPass) refuse(request, passRequired(eventId));
  }

  /** A hold was admitted when it was made: behind a closed room it may still be confirmed, an offer always. */
  function checkConfirm(request: FastifyRequest, order: { event_id: number; from_waitlist: boolean }): void {
    const hasPass = notePass(request, order.event_id);
    const found = room.room(order.event_id);
    if (!found || order.from_waitlist || hasPass) return;
    if (found.state === 'open' || found.state === 'paused') refuse(request, passRequired(order.event_id));
  }

  function refuse(request: FastifyRequest, refusal: Error): void {
    if (typeof request.headers['idempotency-key'] !== 'string') throw refusal;
    refuseUnlessReplay(request, refusal);
  }

  return {
    /** preHandler of POST /book and POST /orders (body.event_id). */
    purchase(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
      try {
        checkPurchase(request, (request.body as { event_id: number }).event_id);
        done();
      } catch (error) {
        done(error as Error);
      }
    },

    /** preHandler of POST /orders/{id}/confirm: the order is read only while some room needs a pass or a pass is sent. */
    async confirm(request: FastifyRequest): Promise<void> {
      if (!room.anyRoomGated() && request.headers['queue-pass'] === undefined) return;
      const order = await findOrderToConfirm(db, (request.params as { id: number }).id);
      // No such order: the route answers 404 as before.
      if (order !== null) checkConfirm(request, order);
    },

    /** onResponse: a purchase with a pass completed, so its slot in `active` frees (a hold is no purchase). */
    completed(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
      const passId = passUsed.get(request);
      if (passId !== undefined && reply.statusCode === 200 && (request.body as { hold?: boolean } | undefined)?.hold !== true) {
        room.purchaseCompleted(passId);
      }
      done();
    },
  };
}

/**
 * Puts the pass check on every route that asks for it (`config: { queuePass }`), so selling routes never
 * import the waiting room: the check runs before the handler, the slot frees after the answer, and the route
 * documents the Queue-Pass header. Registered before the routes (onRoute sees only routes added after it).
 */
export function guardRoutesAskingForPass(app: FastifyInstance, gate: QueueGate): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const kind = route.config?.queuePass;
    if (!kind) return;
    route.preHandler = [...asList(route.preHandler), kind === 'purchase' ? gate.purchase : gate.confirm];
    route.onResponse = [...asList(route.onResponse), gate.completed];
    const schema = (route.schema ??= {});
    const headers = schema.headers as TObject | undefined;
    schema.headers = Type.Object({ ...headers?.properties, ...QueuePassHeaders.properties });
  });
}

function asList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}
