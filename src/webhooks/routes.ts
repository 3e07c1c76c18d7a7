import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { bearer, ErrorOut, errorOut, IdParams, ValidationErrorOut } from '../shapes/common.js';
import { DeliveryList, DeliveryParams, DeliveryQuery, WebhookCreate, WebhookList, WebhookWithSecretOut } from './schemas.js';
import { createWebhook, listWebhooks, pingWebhook, removeWebhook, retryDelivery, rotateWebhookSecret, webhookDeliveries } from './service.js';
import type { TargetPolicy } from './target.js';

const tags = ['webhooks'];
const notYours = errorOut('Not your webhook');
const notFound = errorOut('Webhook not found');

export interface WebhookRouteOptions {
  db: Db;
  policy: TargetPolicy;
  /** Called after a route queued a webhook (ping, replay), so a worker sends it without waiting for a poll. */
  queued: () => void;
}

export async function webhookRoutes(instance: FastifyInstance, { db, policy, queued }: WebhookRouteOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { onRequest: app.authenticate };

  app.post(
    '/webhooks',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Register a webhook endpoint (organizers for their events, admins for any); answers its signing secret once',
        description:
          'Deliveries are signed as Standard Webhooks says (`Webhook-Id`, `Webhook-Timestamp`, `Webhook-Signature`), sent in order ' +
          'per event, ticket or order (up to 16 resources at once per endpoint), and retried for 3 days (about 5 s, 30 s, 2 min, 10 min, 1 h, ...).',
        security: bearer,
        body: WebhookCreate,
        response: {
          201: WebhookWithSecretOut,
          401: ErrorOut,
          403: errorOut('Only the event owner or an admin can add webhooks for it'),
          404: errorOut('Event not found'),
          422: ValidationErrorOut,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await createWebhook(db, policy, request.body, request.user.id)),
  );

  app.get(
    '/webhooks',
    { ...auth, schema: { tags, summary: 'My webhook endpoints (an admin: all)', security: bearer, response: { 200: WebhookList, 401: ErrorOut } } },
    (request) => listWebhooks(db, request.user.id),
  );

  app.delete(
    '/webhooks/:id',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Delete an endpoint, with its undelivered webhooks and history',
        security: bearer,
        params: IdParams,
        response: { 204: Type.Null(), 401: ErrorOut, 403: notYours, 404: notFound, 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      await removeWebhook(db, request.params.id, request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/test',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Queue a `ping` to the endpoint (after the pings it has pending; at most 3 wait at a time)',
        security: bearer,
        params: IdParams,
        response: {
          202: Type.Object({ delivery_id: Type.Integer(), webhook_id: Type.String() }),
          401: ErrorOut,
          403: notYours,
          404: notFound,
          422: ValidationErrorOut,
          429: errorOut('At most 3 test pings wait per webhook: send another once one is delivered'),
        },
      },
    },
    async (request, reply) => {
      const queuedPing = await pingWebhook(db, request.params.id, request.user.id);
      queued();
      return reply.code(202).send(queuedPing);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      ...auth,
      schema: {
        tags,
        summary: 'A new signing secret, answered once; the old one also signs for 24 hours',
        security: bearer,
        params: IdParams,
        response: { 200: WebhookWithSecretOut, 401: ErrorOut, 403: notYours, 404: notFound, 422: ValidationErrorOut },
      },
    },
    (request) => rotateWebhookSecret(db, request.params.id, request.user.id),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      ...auth,
      schema: {
        tags,
        summary: 'The endpoint’s deliveries, newest first, with their attempts (status, response code, duration, next retry)',
        security: bearer,
        params: IdParams,
        querystring: DeliveryQuery,
        response: { 200: DeliveryList, 401: ErrorOut, 403: notYours, 404: notFound, 422: ValidationErrorOut },
      },
    },
    (request) => webhookDeliveries(db, request.params.id, request.user.id, request.query),
  );

  app.post(
    '/webhooks/:id/deliveries/:delivery/retry',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Replay a delivered or failed webhook now (same Webhook-Id), with 3 more days of retries',
        description: 'It goes ahead of the endpoint’s newer pending webhooks. 409 while it is still pending.',
        security: bearer,
        params: DeliveryParams,
        response: {
          202: Type.Null(),
          401: ErrorOut,
          403: notYours,
          404: errorOut('Delivery not found'),
          409: errorOut('Delivery is already pending'),
          422: ValidationErrorOut,
        },
      },
    },
    async (request, reply) => {
      await retryDelivery(db, request.params.id, request.params.delivery, request.user.id);
      queued();
      return reply.code(202).send(null);
    },
  );
}
