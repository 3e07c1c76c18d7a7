import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { openDatabase } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin } from './helpers/factories.js';

// The embedded default: data and tokens survive a restart, and one folder serves one process at a time.
describe('embedded database in DATA_DIR', () => {
  it('when the server restarts, then users, events, tickets and tokens are still there', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'bookfast-data-')), 'nested', 'data');
    const config = testConfig({ DATA_DIR: dataDir, SECRET_KEY: '' });

    const first = await openDatabase({ dataDir });
    await first.migrate();
    const app1 = await buildApp({ config, database: first, logger: false });
    const user = await registerAndLogin(app1);
    const event = await createEvent(app1, user, { total_tickets: 3 });
    await app1.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    await app1.close();
    await first.close();

    const second = await openDatabase({ dataDir });
    await second.migrate();
    const app2 = await buildApp({ config: testConfig({ DATA_DIR: dataDir, SECRET_KEY: '' }), database: second, logger: false });
    const again = await app2.inject({ url: `/events/${event.id}` });
    expect(again.json()).toMatchObject({ id: event.id, tickets_sold: 1 });
    const booked = await app2.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    expect(booked.statusCode).toBe(200);
    await app2.close();
    await second.close();
  });

  it('when a second process opens the same folder, then it is refused with a clear message', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-lock-'));
    const first = await openDatabase({ dataDir });
    await expect(openDatabase({ dataDir })).rejects.toThrow(/in use by another process/);
    await first.close();
    const reopened = await openDatabase({ dataDir });
    await reopened.close();
  });
});
