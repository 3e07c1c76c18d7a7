import { findRole } from '../auth/roles.js';
import type { Db } from '../db/client.js';
import { AppError, Conflict, Forbidden, invalidField, NotFound, Unauthorized } from '../errors.js';
import { recordForEndpoint } from '../outbox/outbox.js';
import {
  deleteEndpoint,
  findEndpoint,
  findEventOwner,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  requeueDelivery,
  rotateSecret,
  type DeliveryRow,
  type EndpointRow,
} from './repository.js';
import type { DeliveryOut, DeliveryQuery, WebhookCreate, WebhookOut, WebhookWithSecretOut } from './schemas.js';
import { newSigningSecret } from './signing.js';
import { checkUrl, TargetRefused, type TargetPolicy } from './target.js';

// Who may do what: organizers hear about their own events, admins about any. An endpoint is managed by
// its owner or an admin.

/** How long the previous secret still signs after a rotation. */
const ROTATION_GRACE_HOURS = 24;

export async function createWebhook(db: Db, policy: TargetPolicy, body: WebhookCreate, userId: number): Promise<WebhookWithSecretOut> {
  const url = checkedUrl(body.url, policy);
  const role = await findRole(db, userId);
  if (role === null) throw new Unauthorized();
  const eventId = body.event_id ?? null;
  if (eventId !== null) {
    const event = await findEventOwner(db, eventId);
    if (!event) throw new NotFound('Event not found');
    if (event.owner_id !== userId && role !== 'admin') throw new Forbidden('Only the event owner or an admin can add webhooks for it');
  } else if (role === 'customer') {
    throw new Forbidden('Only organizers and admins can add webhooks');
  }
  const secret = newSigningSecret();
  const row = await insertEndpoint(db, { ownerId: userId, eventId, allEvents: eventId === null && role === 'admin', url, events: body.events, secret });
  return { ...toWebhookOut(row), secret };
}

export async function listWebhooks(db: Db, userId: number): Promise<WebhookOut[]> {
  const role = await findRole(db, userId);
  if (role === null) throw new Unauthorized();
  return (await listEndpoints(db, role === 'admin' ? null : userId)).map(toWebhookOut);
}

export async function removeWebhook(db: Db, id: number, userId: number): Promise<void> {
  await requireManagedEndpoint(db, id, userId);
  await deleteEndpoint(db, id);
}

/** Test pings waiting for one endpoint at most: a tenant queueing thousands would only grow its own backlog. */
export const MAX_PENDING_PINGS = 3;

export class TooManyPings extends AppError {
  constructor() {
    super(429, `At most ${MAX_PENDING_PINGS} test pings wait per webhook: send another once one is delivered`, { 'Retry-After': '5' });
  }
}

/** Queues a `ping` to the endpoint, after the pings it already has pending; 429 past MAX_PENDING_PINGS. */
export async function pingWebhook(db: Db, id: number, userId: number): Promise<{ delivery_id: number; webhook_id: string }> {
  const endpoint = await requireManagedEndpoint(db, id, userId);
  const deliveryId = await recordForEndpoint(db, endpoint.id, 'ping', { webhook: toWebhookOut(endpoint) }, MAX_PENDING_PINGS);
  if (deliveryId === null) throw new TooManyPings();
  return { delivery_id: deliveryId, webhook_id: `msg_${deliveryId}` };
}

export async function rotateWebhookSecret(db: Db, id: number, userId: number): Promise<WebhookWithSecretOut> {
  await requireManagedEndpoint(db, id, userId);
  const secret = newSigningSecret();
  const row = await rotateSecret(db, id, secret, ROTATION_GRACE_HOURS);
  if (!row) throw new NotFound('Webhook not found');
  return { ...toWebhookOut(row), secret };
}

export async function webhookDeliveries(db: Db, id: number, userId: number, query: DeliveryQuery): Promise<DeliveryOut[]> {
  await requireManagedEndpoint(db, id, userId);
  return (await listDeliveries(db, id, query)).map(toDeliveryOut);
}

export async function retryDelivery(db: Db, id: number, deliveryId: number, userId: number): Promise<void> {
  await requireManagedEndpoint(db, id, userId);
  const outcome = await requeueDelivery(db, id, deliveryId);
  if (outcome === 'missing') throw new NotFound('Delivery not found');
  if (outcome === 'pending') throw new Conflict('Delivery is already pending');
}

async function requireManagedEndpoint(db: Db, id: number, userId: number): Promise<EndpointRow> {
  const endpoint = await findEndpoint(db, id);
  if (!endpoint) throw new NotFound('Webhook not found');
  if (endpoint.owner_id !== userId && (await findRole(db, userId)) !== 'admin') throw new Forbidden('Not your webhook');
  return endpoint;
}

function checkedUrl(raw: string, policy: TargetPolicy): string {
  try {
    return checkUrl(raw.trim(), policy).toString();
  } catch (error) {
    if (error instanceof TargetRefused) throw invalidField(['body', 'url'], error.message);
    throw error;
  }
}

export function toWebhookOut(row: EndpointRow): WebhookOut {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    event_id: row.event_id,
    scope: row.event_id !== null ? 'event' : row.all_events ? 'all' : 'owner',
    owner_id: row.owner_id,
    created_at: new Date(row.created_at).toISOString(),
  };
}

function toDeliveryOut(row: DeliveryRow): DeliveryOut {
  const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());
  return {
    id: Number(row.id),
    webhook_id: `msg_${row.id}`,
    type: row.type,
    status: row.status,
    created_at: iso(row.created_at)!,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: iso(row.delivered_at),
    history: row.history.map((attempt) => ({ ...attempt, attempted_at: iso(attempt.attempted_at)! })),
  };
}
