import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../app.js';
import { bearer, ErrorOut, IdParams, ValidationErrorOut } from '../http/schemas.js';
import { BookBody, TicketOut } from './schemas.js';
import { bookTicket, cancelOwnTicket } from './service.js';

export async function bookingRoutes(instance: FastifyInstance, { db, batcher }: Deps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/book',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['bookings'],
        summary: 'Book one ticket',
        description: 'Sold out answers 400 `{"detail": "Sold Out"}`. Under extreme load, 503 with `Retry-After`.',
        security: bearer,
        body: BookBody,
        response: { 200: TicketOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut, 503: ErrorOut },
      },
    },
    (request) => bookTicket(batcher, request.body.event_id, request.user.id),
  );

  app.post(
    '/tickets/:id/cancel',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['bookings'],
        summary: 'Cancel one of my tickets; its seat returns to sale',
        security: bearer,
        params: IdParams,
        response: { 200: TicketOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut },
      },
    },
    (request) => cancelOwnTicket(db, batcher, request.params.id, request.user.id),
  );
}
