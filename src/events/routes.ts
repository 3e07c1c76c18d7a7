import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../app.js';
import { bearer, ErrorOut, ValidationErrorOut } from '../http/schemas.js';
import { EventCreate, EventIdParams, EventListQuery, EventOut, EventPatch } from './schemas.js';
import { createEvent, editEvent, getEvent, listUpcomingFirst, removeEvent } from './service.js';

export async function eventRoutes(instance: FastifyInstance, { db, batcher }: Deps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'List events, ordered by date then id',
        querystring: EventListQuery,
        response: { 200: Type.Array(EventOut), 422: ValidationErrorOut },
      },
    },
    (request) => listUpcomingFirst(db, request.query.skip, request.query.limit),
  );

  app.post(
    '/events',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Create an event; the caller becomes its owner',
        security: bearer,
        body: EventCreate,
        response: { 200: EventOut, 401: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => createEvent(db, request.body, request.user.id),
  );

  const getOne = {
    schema: {
      tags: ['events'],
      summary: 'One event',
      params: EventIdParams,
      response: { 200: EventOut, 404: ErrorOut, 422: ValidationErrorOut },
    },
  };
  app.get('/events/:id', getOne, (request) => getEvent(db, request.params.id));
  // The old service's singular path, kept so its clients work unchanged.
  app.get('/event/:id', getOne, (request) => getEvent(db, request.params.id));

  app.patch(
    '/events/:id',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Change any of an event’s fields (owner only)',
        description: 'total_tickets cannot go below the tickets already sold (400).',
        security: bearer,
        params: EventIdParams,
        body: EventPatch,
        response: { 200: EventOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => editEvent(db, batcher, request.params.id, request.body, request.user.id),
  );

  app.delete(
    '/events/:id',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Delete an event with no booked tickets (owner only)',
        security: bearer,
        params: EventIdParams,
        response: { 204: Type.Null(), 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      await removeEvent(db, request.params.id, request.user.id);
      return reply.code(204).send(null);
    },
  );
}
