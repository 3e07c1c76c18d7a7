import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { BookingBatcher } from '../inventory/batcher.js';
import type { Db } from '../db/client.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import { IdempotencyHeaders } from '../idempotency/schemas.js';
import { idempotency } from '../idempotency/wrapper.js';
import { bearer, ErrorOut, IdParams, ValidationErrorOut, PageQuery } from '../shapes/common.js';
import { BookBody } from './schemas.js';
import { bookTicket, cancelOwnTicket, getOwnTicket, listOwnTickets, replayTicket } from './service.js';
import { TicketOut } from '../shapes/tickets.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  readDb: Db;
  batcher: BookingBatcher;
  changes: SeatChanges;
}

export async function bookingRoutes(instance: FastifyInstance, { db, readDb, batcher, changes }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const idempotent = idempotency(db, replayTicket, { lookUpFirst: false });

  app.post(
    '/book',
    {
      onRequest: app.authenticate,
      // The waiting room checks the Queue-Pass first (memory and an HMAC only); a booking made with a pass
      // frees its slot in the room's `active`.
      config: { queuePass: 'purchase' },
      onSend: idempotent.hooks.onSend,
      onResponse: idempotent.hooks.onResponse,
      schema: {
        tags: ['bookings'],
        summary: 'Book one ticket',
        description:
          'Sold out answers 400 `{"detail": "Sold Out"}`. Under extreme load, 503 with `Retry-After`. ' +
          'When the event limits tickets per buyer (max_per_user), a booking past it is 409. ' +
          'With `Idempotency-Key`, a retry within 24 h replays the first answer (`Idempotent-Replayed: true`) and books nothing. ' +
          'While the event has a waiting room open or paused, `Queue-Pass` is required (403 without a valid one); before its onsale_at, 403 `Not on sale yet`.',
        security: bearer,
        headers: IdempotencyHeaders,
        body: BookBody,
        response: { 200: TicketOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut, 503: ErrorOut },
      },
    },
    (request, reply) => idempotent.serve(request, reply, (key) => bookTicket(batcher, request.body.event_id, request.user.id, key)),
  );

  app.get(
    '/tickets',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['bookings'],
        summary: 'My tickets, newest first, each with its event',
        security: bearer,
        querystring: PageQuery,
        response: { 200: Type.Array(TicketOut), 401: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => listOwnTickets(readDb, request.user.id, request.query.skip, request.query.limit),
  );

  app.get(
    '/tickets/:id',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['bookings'],
        summary: 'One of my tickets',
        security: bearer,
        params: IdParams,
        response: { 200: TicketOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => getOwnTicket(db, request.params.id, request.user.id),
  );

  app.post(
    '/tickets/:id/cancel',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['bookings'],
        summary: 'Cancel one of my tickets; its seat returns to sale',
        description: 'Already cancelled: 400. Already checked in (used at the door): 409, nothing changes.',
        security: bearer,
        params: IdParams,
        response: { 200: TicketOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => cancelOwnTicket(db, changes, request.params.id, request.user.id),
  );
}
