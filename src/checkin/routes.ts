import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { bearer, ErrorOut, errorOut, IdParams, ValidationErrorOut } from '../shapes/common.js';
import { CheckInBody, QR_FORMATS, type QrFormat } from './schemas.js';
import { checkIn, ticketQr } from './service.js';
import { TicketOut } from '../shapes/tickets.js';
import { EventIdParams } from '../shapes/events.js';

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
}

export async function checkInRoutes(instance: FastifyInstance, { db }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/events/:id/check-in',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['check-in'],
        summary: 'Admit a ticket at the door, once (event owner or admin)',
        description:
          'Exactly one of any number of concurrent scans of one code admits it. A second scan is 409 with the time ' +
          'of the first; a cancelled ticket is 409 `Ticket was cancelled`; another event’s ticket is 400 ' +
          '`Ticket is for another event`; an unknown code is 404 `Unknown ticket code`.',
        security: bearer,
        params: EventIdParams,
        body: CheckInBody,
        response: {
          200: TicketOut,
          400: errorOut('Ticket is for another event'),
          401: ErrorOut,
          403: errorOut('Only the event owner or an admin can check tickets in'),
          404: errorOut('Unknown ticket code'),
          409: errorOut('Ticket already checked in at 2027-06-01T19:02:11.000Z'),
          422: ValidationErrorOut,
        },
      },
    },
    (request) => checkIn(db, request.params.id, request.body.code, request.user.id),
  );

  for (const format of Object.keys(QR_FORMATS) as QrFormat[]) {
    const contentType = QR_FORMATS[format];
    app.get(
      `/tickets/:id/qr.${format}`,
      {
        onRequest: app.authenticate,
        schema: {
          tags: ['check-in'],
          summary: `My ticket’s check-in code as a QR code (${format.toUpperCase()})`,
          description: 'For the ticket’s holder only. The QR code encodes the ticket’s `code`, which the door sends to check-in.',
          security: bearer,
          params: IdParams,
          response: {
            200: {
              description: `QR code image (${contentType})`,
              content: { [contentType]: { schema: Type.Unsafe<string | Buffer>(format === 'png' ? { type: 'string', format: 'binary' } : { type: 'string' }) } },
            },
            401: ErrorOut,
            403: errorOut('Not your ticket'),
            404: errorOut('Ticket not found'),
            409: errorOut('Ticket was cancelled'),
            422: ValidationErrorOut,
          },
        },
      },
      async (request, reply) => {
        const image = await ticketQr(db, request.params.id, request.user.id, format);
        // The code is the ticket: keep the image out of shared caches.
        return reply.type(contentType).header('Cache-Control', 'private, no-store').send(image);
      },
    );
  }
}
