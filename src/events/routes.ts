import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import { bearer, ErrorOut, ValidationErrorOut } from '../shapes/common.js';
import { EventCreate, EventListOut, EventListQuery, EventPatch } from './schemas.js';
import { createEvent, editEvent, getEvent, listEventPage, removeEvent } from './service.js';
import { EventIdParams, EventOut } from '../shapes/events.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  readDb: Db;
  changes: SeatChanges;
  config: Config;
}

export async function eventRoutes(instance: FastifyInstance, { db, readDb, changes, config }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'List events, ordered by date then id',
        description:
          'Filters: `upcoming=true`, `q` (part of the name, any case), `from` <= date < `to` (ISO 8601). The body is the page; ' +
          '`X-Total-Count` says how many match in all and `Link: <...>; rel="next"` points to the next page, if any.',
        querystring: EventListQuery,
        response: { 200: EventListOut, 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      const page = await listEventPage(readDb, request.query);
      reply.header('X-Total-Count', String(page.total));
      if (page.nextSkip !== null) reply.header('Link', nextPageLink(request.query, page.nextSkip));
      return page.events;
    },
  );

  app.post(
    '/events',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Create an event; the caller becomes its owner',
        description: 'With `OPEN_EVENT_CREATION=false`, only organizers and admins may (403 otherwise).',
        security: bearer,
        body: EventCreate,
        response: { 200: EventOut, 401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => createEvent(db, request.body, request.user.id, config),
  );

  const getOne = {
    schema: {
      tags: ['events'],
      summary: 'One event',
      params: EventIdParams,
      response: { 200: EventOut, 404: ErrorOut, 422: ValidationErrorOut },
    },
  };
  app.get('/events/:id', getOne, (request) => getEvent(readDb, request.params.id));
  // The old service's singular path, kept so its clients work unchanged.
  app.get('/event/:id', getOne, (request) => getEvent(readDb, request.params.id));

  app.patch(
    '/events/:id',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Change any of an event’s fields (owner or admin)',
        description: 'total_tickets cannot go below the tickets already sold (400).',
        security: bearer,
        params: EventIdParams,
        body: EventPatch,
        response: { 200: EventOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => editEvent(db, changes, request.params.id, request.body, request.user.id),
  );

  app.delete(
    '/events/:id',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['events'],
        summary: 'Delete an event with no booked tickets (owner or admin)',
        security: bearer,
        params: EventIdParams,
        response: { 204: Type.Null(), 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      await removeEvent(db, changes, request.params.id, request.user.id);
      return reply.code(204).send(null);
    },
  );
}

// The next page keeps the client's filters; a relative reference (RFC 8288) stays right behind any proxy.
function nextPageLink(query: EventListQuery, skip: number): string {
  const params = new URLSearchParams();
  const { upcoming, q, from, to } = query;
  for (const [name, value] of Object.entries({ skip, limit: query.limit, upcoming, q, from, to })) {
    if (value !== undefined) params.set(name, String(value));
  }
  return `</events?${params.toString()}>; rel="next"`;
}
