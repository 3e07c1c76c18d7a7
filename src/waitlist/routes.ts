import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import { bearer, ErrorOut, errorOut, ValidationErrorOut } from '../shapes/common.js';
import { WaitlistPlaceOut } from './schemas.js';
import { joinLine, leaveLine, myPlace } from './service.js';
import { EventIdParams } from '../shapes/events.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  changes: SeatChanges;
}

export async function waitlistRoutes(instance: FastifyInstance, { db, changes }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/events/:id/waitlist',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['waiting list'],
        summary: 'Join the waiting list of a sold-out event',
        description:
          'Only while no seat is free (409 `Tickets are available: book them instead` otherwise) or the event’s waiting ' +
          'room is closed after its sale began (then free seats go to the line, in order, at once), once per buyer (409 ' +
          '`Already on the waiting list`). When seats come back (a cancellation, an expired hold, more capacity), the ' +
          'first in line gets a hold of one seat for the event’s hold_minutes: a pending order in GET /orders, to confirm ' +
          'with POST /orders/{id}/confirm.',
        security: bearer,
        params: EventIdParams,
        response: {
          201: WaitlistPlaceOut,
          401: ErrorOut,
          404: errorOut('Event not found'),
          409: errorOut('Tickets are available: book them instead'),
          422: ValidationErrorOut,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await joinLine(db, changes, request.params.id, request.user.id)),
  );

  app.get(
    '/events/:id/waitlist/me',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['waiting list'],
        summary: 'My place in the waiting list (1 = next)',
        security: bearer,
        params: EventIdParams,
        response: { 200: WaitlistPlaceOut, 401: ErrorOut, 404: errorOut('Not on the waiting list'), 422: ValidationErrorOut },
      },
    },
    (request) => myPlace(db, request.params.id, request.user.id),
  );

  app.delete(
    '/events/:id/waitlist',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['waiting list'],
        summary: 'Leave the waiting list',
        description: '404 when not in line (never joined, already left, or already given a hold).',
        security: bearer,
        params: EventIdParams,
        response: { 204: Type.Null(), 401: ErrorOut, 404: errorOut('Not on the waiting list'), 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      await leaveLine(db, changes, request.params.id, request.user.id);
      return reply.code(204).send(null);
    },
  );
}
