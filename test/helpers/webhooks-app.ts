import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { setRoleByEmail } from '../../src/auth/roles.js';
import { buildTestApp, closeCheckingInventory, type TestApp } from './build-test-app.js';
import { registerAndLogin, type TestUser } from './factories.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

// The webhook tests' world: the real app (its own delivery worker, polling every 20 ms), a real receiver on
// loopback, an organizer, an admin and a buyer. Each endpoint gets its own path of the receiver.
export interface WebhooksApp {
  t: TestApp;
  receiver: WebhookReceiver;
  organizer: TestUser;
  admin: TestUser;
  buyer: TestUser;
  /** An endpoint on its own path of the receiver, so each test sees only its own deliveries. */
  subscribe(user: TestUser, events: string[], eventId?: number): Promise<Created & { path: string }>;
  at(path: string): WebhookReceiver['received'];
  waitAt(path: string, count: number, timeoutMs?: number): Promise<WebhookReceiver['received']>;
  bookTicket(eventId: number): Promise<{ id: number; code: string }>;
  rename(eventId: number, name: string, user?: TestUser): Promise<LightMyRequestResponse>;
  /** GET /webhooks/{id}/deliveries until the newest matches. */
  pollDeliveries(endpointId: number, until: (newest: DeliveryBody) => boolean): Promise<DeliveryBody[]>;
}

export interface Created {
  id: number;
  secret: string;
  url: string;
  scope: string;
}

export interface DeliveryBody {
  id: number;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
}

/** Registers the file's beforeAll/afterAll; the returned object is filled in before the first test. */
export function useWebhooksApp(): WebhooksApp {
  const w = {} as WebhooksApp;
  beforeAll(async () => {
    const t = await buildTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_POLL_MS: '20', WEBHOOKS_TIMEOUT_MS: '1500' });
    const receiver = await startWebhookReceiver();
    const organizer = await registerAndLogin(t.app);
    await setRoleByEmail(t.testDb.database.db, organizer.email, 'organizer');
    const admin = await registerAndLogin(t.app);
    // Registration grants no role (issue 12): an operator promotes an existing account.
    await setRoleByEmail(t.testDb.database.db, admin.email, 'admin');
    const buyer = await registerAndLogin(t.app);
    const at = (path: string) => receiver.received.filter((r) => r.path === path);
    Object.assign(w, {
      t,
      receiver,
      organizer,
      admin,
      buyer,
      at,
      waitAt: (path: string, count: number, timeoutMs?: number) => receiver.waitFor(() => at(path).length >= count, timeoutMs).then(() => at(path)),
      async subscribe(user: TestUser, events: string[], eventId?: number) {
        const path = `/hook-${randomBytes(4).toString('hex')}`;
        const response = await t.app.inject({
          method: 'POST',
          url: '/webhooks',
          headers: user.auth,
          payload: { url: `${receiver.url}${path}`, events, ...(eventId === undefined ? {} : { event_id: eventId }) },
        });
        expect(response.statusCode, response.body).toBe(201);
        return { ...response.json<Created>(), path };
      },
      async bookTicket(eventId: number) {
        const response = await t.app.inject({ method: 'POST', url: '/book', headers: buyer.auth, payload: { event_id: eventId } });
        expect(response.statusCode).toBe(200);
        return response.json<{ id: number; code: string }>();
      },
      rename: (eventId: number, name: string, user = organizer) =>
        t.app.inject({ method: 'PATCH', url: `/events/${eventId}`, headers: user.auth, payload: { event_name: name } }),
      async pollDeliveries(endpointId: number, until: (newest: DeliveryBody) => boolean) {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const response = await t.app.inject({ method: 'GET', url: `/webhooks/${endpointId}/deliveries`, headers: admin.auth });
          const list = response.json<DeliveryBody[]>();
          if (list[0] && until(list[0])) return list;
          if (Date.now() > deadline) throw new Error(`deliveries never matched: ${response.body}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      },
    } satisfies WebhooksApp);
  });
  afterAll(async () => {
    if (w.t) await closeCheckingInventory(w.t);
    await w.receiver?.close();
  });
  return w;
}
