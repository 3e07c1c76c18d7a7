import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import type { OrderBatcher } from '../inventory/order-batcher.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import { IdempotencyHeaders } from '../idempotency/schemas.js';
import { idempotency } from '../idempotency/wrapper.js';
import { bearer, ErrorOut, IdParams, ValidationErrorOut, PageQuery } from '../shapes/common.js';
import { OrderCreate } from './schemas.js';
import { cancelOwnOrder, confirmOwnOrder, getOwnOrder, listOwnOrders, orderSeats, replayOrder } from './service.js';
import { OrderOut } from '../shapes/orders.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  readDb: Db;
  changes: SeatChanges;
  orders: OrderBatcher;
}

export async function orderRoutes(instance: FastifyInstance, { db, readDb, changes, orders }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  // One per route: a twin waits only for a request of its own route (the same key elsewhere is a 422).
  const idempotentOrder = idempotency(db, replayOrder, { lookUpFirst: true });
  const idempotentConfirm = idempotency(db, replayOrder, { lookUpFirst: true });
  const mine = { 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut };

  app.post(
    '/orders',
    {
      onRequest: app.authenticate,
      // The waiting room checks the Queue-Pass first and frees the pass's slot after a purchase (not a hold).
      config: { queuePass: 'purchase' },
      onSend: idempotentOrder.hooks.onSend,
      onResponse: idempotentOrder.hooks.onResponse,
      schema: {
        tags: ['orders'],
        summary: 'Buy or hold several seats at once',
        description:
          'All or nothing: fewer seats left than `quantity` is 400 `{"detail": "Sold Out"}` and nothing is sold. ' +
          '`quantity` above the event’s max_per_order is 422; passing its max_per_user (tickets you own plus seats you hold) is 409. ' +
          'With `"hold": true` the seats are reserved (status `pending`) until `expires_at`; confirm them with POST /orders/{id}/confirm. ' +
          'With `Idempotency-Key`, a retry within 24 h replays the first answer (`Idempotent-Replayed: true`); the same key with another body is 422. ' +
          'While the event has a waiting room open or paused, `Queue-Pass` is required (403 without a valid one); before its onsale_at, 403 `Not on sale yet`.',
        security: bearer,
        headers: IdempotencyHeaders,
        body: OrderCreate,
        response: { 200: OrderOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut, 503: ErrorOut },
      },
    },
    (request, reply) => idempotentOrder.serve(request, reply, (key) => orderSeats(orders, request.user.id, request.body, key)),
  );

  app.get(
    '/orders',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['orders'],
        summary: 'My orders, newest first, each with its event and tickets',
        security: bearer,
        querystring: PageQuery,
        response: { 200: Type.Array(OrderOut), 401: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => listOwnOrders(readDb, request.user.id, request.query.skip, request.query.limit),
  );

  app.get(
    '/orders/:id',
    {
      onRequest: app.authenticate,
      schema: { tags: ['orders'], summary: 'One of my orders', security: bearer, params: IdParams, response: { 200: OrderOut, ...mine } },
    },
    (request) => getOwnOrder(db, request.params.id, request.user.id),
  );

  app.post(
    '/orders/:id/confirm',
    {
      onRequest: app.authenticate,
      // Confirming a hold of a gated event needs the pass too (checked and freed by the waiting room).
      config: { queuePass: 'confirm' },
      onSend: idempotentConfirm.hooks.onSend,
      onResponse: idempotentConfirm.hooks.onResponse,
      schema: {
        tags: ['orders'],
        summary: 'Turn my hold into booked tickets',
        description:
          'Only a pending order whose hold has not expired; otherwise 409 (an expired hold’s seats are already back on sale). ' +
          'With `Idempotency-Key`, a retry within 24 h replays the first answer (`Idempotent-Replayed: true`). ' +
          'While the event has a waiting room open or paused, `Queue-Pass` is required (403 without a valid one).',
        security: bearer,
        headers: IdempotencyHeaders,
        params: IdParams,
        response: { 200: OrderOut, 409: ErrorOut, 503: ErrorOut, ...mine },
      },
    },
    (request, reply) => idempotentConfirm.serve(request, reply, (key) => confirmOwnOrder(db, orders, request.params.id, request.user.id, key)),
  );

  app.post(
    '/orders/:id/cancel',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['orders'],
        summary: 'Cancel my order; its seats return to sale',
        description:
          'A hold gives its seats back; a confirmed order cancels its booked tickets. Already cancelled or expired: 409. ' +
          'A confirmed order with a checked-in ticket is refused whole (409), nothing changes.',
        security: bearer,
        params: IdParams,
        response: { 200: OrderOut, 409: ErrorOut, ...mine },
      },
    },
    (request) => cancelOwnOrder(db, changes, request.params.id, request.user.id),
  );
}
