import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { createEvent, registerAndLogin } from './helpers/factories.js';
import { useWebhooksApp } from './helpers/webhooks-app.js';

// Issue 25, item 4: one tenant's slow receivers and queued pings cannot stall another tenant's webhooks.
// The app runs the default 4 delivery loops, with attempts cut after 1.5 s.
const w = useWebhooksApp();

describe('when one owner’s four endpoints hang with pings queued', () => {
  it('then another owner’s event.updated arrives while they still hang, before any of their attempts has timed out', { timeout: 30_000 }, async () => {
    const slowOwner = await registerAndLogin(w.t.app);
    await setRoleByEmail(w.t.testDb.database.db, slowOwner.email, 'organizer');
    const slowHooks = await Promise.all(Array.from({ length: 4 }, () => w.subscribe(slowOwner, ['event.updated'])));
    const slowPaths = new Set(slowHooks.map((hook) => hook.path));
    const event = await createEvent(w.t.app, w.organizer);
    const fast = await w.subscribe(w.organizer, ['event.updated'], event.id);
    // The slow receivers never answer: each attempt ends when the sender gives up and closes it.
    let slowAttemptsEnded = 0;
    let endedBeforeFast: number | null = null;
    w.receiver.respondWith((request, response) => {
      if (slowPaths.has(request.url ?? '')) return void response.on('close', () => slowAttemptsEnded++);
      if (request.url === fast.path) endedBeforeFast ??= slowAttemptsEnded;
      response.writeHead(200).end();
    });
    try {
      for (const hook of slowHooks) {
        for (let i = 0; i < 3; i++) expect((await w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: slowOwner.auth })).statusCode).toBe(202);
      }
      await w.receiver.waitFor((received) => received.some((r) => slowPaths.has(r.path)));

      expect((await w.rename(event.id, 'Moved to the big hall')).statusCode).toBe(200);
      const [update] = await w.waitAt(fast.path, 1);

      expect(update!.json.data.event_name).toBe('Moved to the big hall');
      expect(endedBeforeFast).toBe(0);
    } finally {
      for (const hook of slowHooks) await w.t.app.inject({ method: 'DELETE', url: `/webhooks/${hook.id}`, headers: slowOwner.auth });
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });
});

describe('when an endpoint’s test pings pile up', () => {
  it('then three wait at most: the fourth is a 429 with a detail, and once they are delivered pings are taken again', async () => {
    const hook = await w.subscribe(w.organizer, ['event.updated']);
    const db = w.t.testDb.database.db;
    // The test holds the endpoint's lease, as a worker busy with it would: the pings wait meanwhile.
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = now() + interval '1 hour', lease_token = 'test' WHERE id = ${hook.id}`);
    const ping = () => w.t.app.inject({ method: 'POST', url: `/webhooks/${hook.id}/test`, headers: w.organizer.auth });

    const accepted = [await ping(), await ping(), await ping()];
    const refused = await ping();

    expect(accepted.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toEqual({ detail: 'At most 3 test pings wait per webhook: send another once one is delivered' });
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${hook.id}`);
    await w.waitAt(hook.path, 3);
    await expect.poll(async () => (await ping()).statusCode, { timeout: 10_000 }).toBe(202);
  });
});
