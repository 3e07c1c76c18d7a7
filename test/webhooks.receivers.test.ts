import { describe, expect, it } from 'vitest';
import { createEvent } from './helpers/factories.js';
import { verifyDelivery } from './helpers/webhook-receiver.js';
import { useWebhooksApp } from './helpers/webhooks-app.js';

// Webhooks when the receiver misbehaves (hangs, redirects, endless bodies), secret rotation and metrics; the
// rest: webhooks.test.ts.
const w = useWebhooksApp();

describe('deliveries to a receiver that misbehaves', () => {
  it('when the receiver hangs, then the API still answers: bookings and edits complete while the delivery waits', { timeout: 30_000 }, async () => {
    const event = await createEvent(w.t.app, w.organizer, { total_tickets: 50 });
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    w.receiver.respondWith(async (request, response) => {
      if (request.url === hook.path) await released;
      response.writeHead(200).end();
    });
    try {
      await w.rename(event.id, 'Slow receiver');
      await w.waitAt(hook.path, 1);
      let settled = false;
      void released.then(() => (settled = true));
      // The receiver holds the delivery; the API goes on.
      const bookings = await Promise.all(Array.from({ length: 20 }, () => w.t.app.inject({ method: 'POST', url: '/book', headers: w.buyer.auth, payload: { event_id: event.id } })));
      expect(bookings.map((b) => b.statusCode)).toEqual(Array(20).fill(200));
      expect((await w.rename(event.id, 'Still editable')).statusCode).toBe(200);
      expect(settled).toBe(false);
      // The worker gives up on the hung attempt at its timeout (1.5 s here) and retries later.
      const list = await w.receiver.waitFor(() => false, 2500).catch(() => null);
      expect(list).toBeNull();
      // The attempt is recorded after the timeout: under load, a moment later.
      const oldest = async () =>
        (await w.t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries?limit=100`, headers: w.organizer.auth }))
          .json<{ status: string; last_error: string | null; attempts: number }[]>()
          .at(-1)!;
      await expect.poll(async () => (await oldest()).attempts, { timeout: 10_000 }).toBe(1);
      const first = await oldest();
      expect(first).toMatchObject({ status: 'pending', attempts: 1 });
      expect(first.last_error).toMatch(/timeout/);
    } finally {
      release();
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the receiver redirects, then the redirect is not followed and the attempt failed', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    w.receiver.respondWith((request, response) => {
      if (request.url === hook.path) return void response.writeHead(302, { location: `${w.receiver.url}/elsewhere` }).end();
      response.writeHead(200).end();
    });
    try {
      await w.rename(event.id, 'Redirected');
      await w.waitAt(hook.path, 1);
      const deliveries = await w.pollDeliveries(hook.id, (d) => d.attempts >= 1);
      expect(deliveries[0]).toMatchObject({ status: 'pending', last_status_code: 302, last_error: 'HTTP 302: redirects are not followed' });
      expect(w.at('/elsewhere')).toEqual([]);
    } finally {
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the receiver answers an endless body, then at most 64 KiB is read and the delivery succeeds', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    let written = 0;
    w.receiver.respondWith((request, response) => {
      if (request.url !== hook.path) return void response.writeHead(200).end();
      response.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) written += chunk.length;
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    try {
      await w.rename(event.id, 'Endless');
      const deliveries = await w.pollDeliveries(hook.id, (d) => d.status === 'succeeded');
      expect(deliveries[0]!.status).toBe('succeeded');
      expect(written).toBeLessThan(10 * 1024 * 1024);
    } finally {
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });

  it('when the secret is rotated, then deliveries carry two signatures and verify with the new secret and the old', async () => {
    const event = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(w.organizer, ['event.updated'], event.id);
    const rotated = await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/rotate-secret`, headers: w.organizer.auth });
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json<{ secret: string }>().secret;
    expect(newSecret).not.toBe(hook.secret);
    await w.rename(event.id, 'Rotated');
    const [delivery] = await w.waitAt(hook.path, 1);
    expect(delivery!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    verifyDelivery(newSecret, delivery!);
    verifyDelivery(hook.secret, delivery!);
  });

  it('when GET /metrics is scraped, then it shows deliveries by outcome, the queue depth and the oldest pending age', async () => {
    const metrics = (await w.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/bookfast_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/bookfast_webhook_deliveries_total\{outcome="retrying"\} [1-9]/);
    expect(metrics).toMatch(/^bookfast_webhook_queue_depth \d+$/m);
    expect(metrics).toMatch(/^bookfast_webhook_oldest_pending_seconds [\d.e+-]+$/m);
  });
});
