import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { bearer, ErrorOut, errorOut, ValidationErrorOut, PageQuery } from '../shapes/common.js';
import { prefersCsv } from './csv.js';
import { AttendeesOut, AttendeesQuery, StatsOut } from './schemas.js';
import { attendeesCsv, eventAttendees, eventStats, ownedEvents } from './service.js';
import { EventIdParams, EventOut } from '../shapes/events.js';

const forbidden = errorOut('Only the event owner or an admin can see its sales');
const notFound = errorOut('Event not found');

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  readDb: Db;
}

export async function organizerRoutes(instance: FastifyInstance, { readDb }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/me/events',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['organizers'],
        summary: 'The events I own, soonest first, past ones included',
        security: bearer,
        querystring: PageQuery,
        response: { 200: Type.Array(EventOut), 401: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => ownedEvents(readDb, request.user.id, request.query.skip, request.query.limit),
  );

  app.get(
    '/events/:id/stats',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['organizers'],
        summary: 'Sales figures of an event (owner or admin)',
        description: 'Capacity, sold, held, cancelled, checked in, revenue (exact decimal) and sales per hour.',
        security: bearer,
        params: EventIdParams,
        response: { 200: StatsOut, 401: ErrorOut, 403: forbidden, 404: notFound, 422: ValidationErrorOut },
      },
    },
    (request) => eventStats(readDb, request.params.id, request.user.id),
  );

  app.get(
    '/events/:id/attendees',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['organizers'],
        summary: 'The event’s tickets and their holders, a page at a time (owner or admin)',
        description:
          'JSON `{event, attendees}` by default; CSV (header row, RFC 4180, spreadsheet-safe) with `Accept: text/csv`. ' +
          'Ordered by ticket id; `skip`/`limit` page through both.',
        security: bearer,
        params: EventIdParams,
        querystring: AttendeesQuery,
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: 'The page of attendees',
            content: {
              'application/json': { schema: AttendeesOut },
              'text/csv': {
                schema: Type.String({
                  examples: ['ticket_id,user_id,email,status,purchase_date,checked_in_at,ticket_price,currency\r\n7,3,ada@example.com,booked,2027-05-01T09:12:00.000Z,,50.00,EUR\r\n'],
                }),
              },
            },
          },
          401: ErrorOut,
          403: forbidden,
          404: notFound,
          422: ValidationErrorOut,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const page = await eventAttendees(readDb, id, request.user.id, request.query.skip, request.query.limit);
      if (!prefersCsv(request.headers.accept)) return reply.type('application/json; charset=utf-8').send(page);
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="event-${id}-attendees.csv"`)
        .send(attendeesCsv(page));
    },
  );
}
