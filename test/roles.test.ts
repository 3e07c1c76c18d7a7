import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { openDatabase, queryRows, type Db } from '../src/db/client.js';
import { buildTestApp, setUpTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, futureDate, registerAndLogin, uniqueEmail, type TestUser } from './helpers/factories.js';

const eventFields = () => ({ event_name: 'Gig', date: futureDate(), ticket_price: '20.00', total_tickets: 10 });

async function roleOf(db: Db, userId: number): Promise<string> {
  const rows = await queryRows<{ role: string }>(db, sql`SELECT role FROM users WHERE id = ${userId}`);
  return rows[0]!.role;
}

describe('when OPEN_EVENT_CREATION is left at its default (true)', () => {
  const { t } = setUpTestApp();

  it('then a new account is a customer and may still create events, as the old service allowed', async () => {
    const customer = await registerAndLogin(t.app);
    expect(await roleOf(t.testDb.database.db, customer.id)).toBe('customer');
    const response = await t.app.inject({ method: 'POST', url: '/events', headers: customer.auth, payload: eventFields() });
    expect(response.statusCode).toBe(200);
  });

  it('when a customer asks GET /me, then it says their role and that they may create events; without a token 401', async () => {
    const customer = await registerAndLogin(t.app);
    const me = await t.app.inject({ url: '/me', headers: customer.auth });
    expect(me.json()).toEqual({ id: customer.id, email: customer.email, role: 'customer', may_create_events: true });
    expect((await t.app.inject({ url: '/me' })).statusCode).toBe(401);
  });
});

describe('when OPEN_EVENT_CREATION=false and an operator made one account admin', () => {
  let t: TestApp;
  let admin: TestUser;
  let organizer: TestUser;
  let otherOrganizer: TestUser;
  let customer: TestUser;
  const adminEmail = uniqueEmail('boss');

  beforeAll(async () => {
    t = await buildTestApp({ OPEN_EVENT_CREATION: 'false' });
    admin = await registerAndLogin(t.app, adminEmail);
    organizer = await registerAndLogin(t.app);
    otherOrganizer = await registerAndLogin(t.app);
    customer = await registerAndLogin(t.app);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'admin' WHERE id = ${admin.id}`);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'organizer' WHERE id IN (${organizer.id}, ${otherOrganizer.id})`);
  });
  afterAll(() => t.close());

  it('then the promoted account is admin and every registered one a customer', async () => {
    expect(await roleOf(t.testDb.database.db, admin.id)).toBe('admin');
    expect(await roleOf(t.testDb.database.db, customer.id)).toBe('customer');
  });

  it('then a customer creating an event gets 403 and nothing is created', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/events', headers: customer.auth, payload: eventFields() });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ detail: 'Only organizers can create events' });
    const mine = await queryRows<{ n: number }>(t.testDb.database.db, sql`SELECT count(*)::int AS n FROM events WHERE owner_id = ${customer.id}`);
    expect(mine[0]!.n).toBe(0);
  });

  it('when each asks GET /me, then the role is read now and only organizers and admins may create events', async () => {
    const me = async (user: TestUser) => (await t.app.inject({ url: '/me', headers: user.auth })).json<{ role: string; may_create_events: boolean }>();
    expect(await me(customer)).toMatchObject({ role: 'customer', may_create_events: false });
    expect(await me(organizer)).toMatchObject({ role: 'organizer', may_create_events: true });
    expect(await me(admin)).toMatchObject({ role: 'admin', may_create_events: true });
  });

  it('then organizers and admins create events', async () => {
    for (const user of [organizer, admin]) {
      const response = await t.app.inject({ method: 'POST', url: '/events', headers: user.auth, payload: eventFields() });
      expect(response.statusCode).toBe(200);
    }
  });

  it('when a customer is promoted, then the same token may create events at once (the role is read from the database)', async () => {
    const promoted = await registerAndLogin(t.app);
    const before = await t.app.inject({ method: 'POST', url: '/events', headers: promoted.auth, payload: eventFields() });
    expect(before.statusCode).toBe(403);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'organizer' WHERE id = ${promoted.id}`);
    const after = await t.app.inject({ method: 'POST', url: '/events', headers: promoted.auth, payload: eventFields() });
    expect(after.statusCode).toBe(200);
  });

  it('when the payload is invalid, then a customer still gets 422 (input is checked first)', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/events', headers: customer.auth, payload: { ...eventFields(), total_tickets: 0 } });
    expect(response.statusCode).toBe(422);
  });

  it('then an organizer cannot change or delete another organizer’s event, but an admin can', async () => {
    const event = await createEvent(t.app, organizer);
    const byOther = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: otherOrganizer.auth, payload: { event_name: 'Mine' } });
    expect(byOther.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: otherOrganizer.auth })).statusCode).toBe(403);

    const byAdmin = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: admin.auth, payload: { event_name: 'Renamed by admin', total_tickets: 20 } });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json()).toMatchObject({ event_name: 'Renamed by admin', total_tickets: 20 });
    // Still the organizer's event, not the admin's.
    const owner = await queryRows<{ owner_id: number }>(t.testDb.database.db, sql`SELECT owner_id FROM events WHERE id = ${event.id}`);
    expect(owner[0]!.owner_id).toBe(organizer.id);

    expect((await t.app.inject({ method: 'DELETE', url: `/events/${event.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/events/${event.id}` })).statusCode).toBe(404);
  });

  it('when an admin cuts capacity below the tickets sold, then 400 names the reason (not 403)', async () => {
    const event = await createEvent(t.app, organizer, { total_tickets: 5 });
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'POST', url: '/book', headers: customer.auth, payload: { event_id: event.id } });
    const response = await t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: admin.auth, payload: { total_tickets: 2 } });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ detail: string }>().detail).toMatch(/below the 3 tickets already sold/);
  });

  it('when an admin is demoted, then the override stops at once', async () => {
    const event = await createEvent(t.app, organizer);
    const demotable = await registerAndLogin(t.app);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'admin' WHERE id = ${demotable.id}`);
    const patch = () => t.app.inject({ method: 'PATCH', url: `/events/${event.id}`, headers: demotable.auth, payload: { event_name: 'x' } });
    expect((await patch()).statusCode).toBe(200);
    await t.testDb.database.db.execute(sql`UPDATE users SET role = 'customer' WHERE id = ${demotable.id}`);
    expect((await patch()).statusCode).toBe(403);
  });
});

describe('loadConfig for roles', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'bookfast-roles-'));

  it('when OPEN_EVENT_CREATION is not a boolean, then start-up fails naming it', () => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), OPEN_EVENT_CREATION: 'maybe' }, { dotenv: false })).toThrow(/OPEN_EVENT_CREATION/);
  });

  // Issue 12: ADMIN_EMAILS made whoever registered a listed address first an admin, with no proof of owning it.
  it('when ADMIN_EMAILS is set, then start-up refuses it and points at user:promote (no admin is made at registration)', () => {
    const load = () => loadConfig({ DATA_DIR: dataDir(), ADMIN_EMAILS: 'boss@example.com' }, { dotenv: false });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/ADMIN_EMAILS was removed.*user:promote/);
    expect(loadConfig({ DATA_DIR: dataDir(), ADMIN_EMAILS: '' }, { dotenv: false }).openEventCreation).toBe(true);
  });
});

// The script opens the database itself, as an operator would run it: on the server (DATABASE_URL) or an
// embedded database in DATA_DIR (which it locks, so nothing else may hold it open meanwhile).
describe('npm run user:promote', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-promote-'));
  let t: TestApp | undefined;
  let env: Record<string, string>;
  const email = uniqueEmail('promote');

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      t = await buildTestApp();
      env = { DATABASE_URL: t.testDb.url!, DATA_DIR: dataDir };
      await registerAndLogin(t.app, email);
    } else {
      env = { DATA_DIR: dataDir };
      const database = await openDatabase({ dataDir });
      await database.migrate();
      await database.db.execute(sql`INSERT INTO users (email, password) VALUES (${email}, 'not-a-hash')`);
      await database.close();
    }
  });
  afterAll(() => t?.close());

  async function promote(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run(['--import', 'tsx', 'src/cli/promote-user.ts', ...args]);
  }

  async function run(nodeArgs: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    // Only what this test chose: never the test runner's own DATABASE_URL.
    const inherited = { ...process.env };
    delete inherited.DATABASE_URL;
    const child = spawn(process.execPath, nodeArgs, {
      env: { ...inherited, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout, stderr };
  }

  it('when the email exists (any letter case), then it sets the role and says what it was', async () => {
    const result = await promote(email.toUpperCase(), 'admin');
    expect(result).toMatchObject({ code: 0, stdout: `${email} is now admin (was customer)\n` });
    expect((await promote(email, 'admin')).stdout).toBe(`${email} is already admin\n`);
  });

  // The Docker image has no tsx: the command must be compiled by the build (tsconfig.build.json) and run by node.
  it('when compiled as the Docker image builds it and run with node, then it promotes too', async () => {
    const outDir = join('node_modules', '.cache', `bookfast-build-${process.pid}-${Date.now()}`);
    try {
      const build = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { stdio: 'ignore' });
      expect(((await once(build, 'exit')) as [number | null])[0]).toBe(0);
      const result = await run([join(outDir, 'src', 'cli', 'promote-user.js'), email, 'organizer']);
      expect(result).toMatchObject({ code: 0, stdout: `${email} is now organizer (was admin)\n` });
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('when the email is unknown, then it exits 1 with a clear line', async () => {
    const result = await promote('nobody-here@example.com', 'organizer');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('user:promote: no account with email nobody-here@example.com; register it first (POST /register)\n');
  });

  it('when the role is unknown or an argument is missing, then it exits 1 and names the valid roles', async () => {
    const unknown = await promote(email, 'superuser');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('user:promote: unknown role "superuser": use one of customer, organizer, admin\n');
    const missing = await promote(email);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/usage: npm run user:promote -- <email> <customer\|organizer\|admin>/);
  });
});
