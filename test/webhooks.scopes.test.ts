import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { setRoleByEmail } from '../src/auth/roles.js';
import { queryRows } from '../src/db/client.js';
import { createEvent, registerAndLogin } from './helpers/factories.js';
import { useWebhooksApp } from './helpers/webhooks-app.js';

// Issue 25, item 3: an endpoint's scope follows its owner's role as it is at delivery, not at registration.
const w = useWebhooksApp();

describe('when an admin with an all-events endpoint is set back to organizer', () => {
  it('then another organizer’s bookings no longer reach it, and the former admin’s own still do', async () => {
    const db = w.t.testDb.database.db;
    const formerAdmin = await registerAndLogin(w.t.app);
    await setRoleByEmail(db, formerAdmin.email, 'admin');
    const own = await createEvent(w.t.app, formerAdmin);
    const others = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(formerAdmin, ['ticket.booked']);
    expect(hook.scope).toBe('all');

    await setRoleByEmail(db, formerAdmin.email, 'organizer');
    await w.bookTicket(others.id);
    const ownTicket = await w.bookTicket(own.id);

    // Until nothing is pending for the endpoint: then whatever was going to arrive has.
    await expect
      .poll(async () => (await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE endpoint_id = ${hook.id} AND status = 'pending'`))[0]!.n, {
        timeout: 15_000,
      })
      .toBe(0);
    expect(w.at(hook.path).map((r) => r.json.data.id)).toEqual([ownTicket.id]);
    const listed = await w.t.app.inject({ method: 'GET', url: `/webhooks/${hook.id}/deliveries?status=failed`, headers: formerAdmin.auth });
    expect(listed.json<{ last_error: string; last_status_code: number | null }[]>()).toEqual([
      expect.objectContaining({ last_status_code: null, last_error: expect.stringMatching(/outside the endpoint’s scope/) }),
    ]);
  });

  it('then an endpoint it registered for another organizer’s event stops hearing from that event', async () => {
    const db = w.t.testDb.database.db;
    const formerAdmin = await registerAndLogin(w.t.app);
    await setRoleByEmail(db, formerAdmin.email, 'admin');
    const others = await createEvent(w.t.app, w.organizer);
    const hook = await w.subscribe(formerAdmin, ['ticket.booked'], others.id);
    await w.bookTicket(others.id);
    await w.waitAt(hook.path, 1);

    await setRoleByEmail(db, formerAdmin.email, 'customer');
    await w.bookTicket(others.id);
    await expect
      .poll(async () => (await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE endpoint_id = ${hook.id} AND status = 'pending'`))[0]!.n, {
        timeout: 15_000,
      })
      .toBe(0);
    expect(w.at(hook.path)).toHaveLength(1);
  });
});
