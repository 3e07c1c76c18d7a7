import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { buildTestApp, testConfig, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, uniqueEmail } from './helpers/factories.js';

// Issue 12: limits that mean their number, in parallel, across processes, behind a proxy, and with Redis down.

let t: TestApp | undefined;
const extra: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const app of extra.splice(0)) await app.close();
  await t?.close();
  t = undefined;
});

const password = 'correct horse battery';
type App = TestApp['app'];
const login = (app: App, username: string, pass = password, headers: Record<string, string> = {}, remoteAddress?: string) =>
  app.inject({ method: 'POST', url: '/login', payload: { username, password: pass }, headers, ...(remoteAddress ? { remoteAddress } : {}) });
const statuses = (answers: { statusCode: number }[]) => answers.map((answer) => answer.statusCode).sort();
const count = (list: number[], status: number) => list.filter((s) => s === status).length;

/** A second app on the same database: another process or host, without Redis. */
async function anotherProcess(overrides: Record<string, string>): Promise<App> {
  const app = await buildApp({ config: testConfig({ ...overrides, SECRET_KEY: t!.config.secretKey }), database: t!.testDb.database, logger: false });
  extra.push(app);
  return app;
}

describe('when many wrong passwords for one account arrive at once', () => {
  it('then exactly RATE_LIMIT_LOGIN_FAILURES of them are checked (401), the rest 429, and then even the right password waits', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '3', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    const user = await registerAndLogin(t.app);
    const answers = statuses(await Promise.all(Array.from({ length: 30 }, () => login(t!.app, user.email, 'wrong password'))));
    expect(count(answers, 401)).toBe(3);
    expect(count(answers, 429)).toBe(27);
    const blocked = await login(t.app, user.email);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('then a right password before the limit clears the failures', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '2', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    const user = await registerAndLogin(t.app);
    expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    expect((await login(t.app, user.email)).statusCode).toBe(200);
    expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    expect((await login(t.app, user.email)).statusCode).toBe(429);
  });
});

describe('when POST /password is given wrong current passwords', () => {
  it('then it has the same per-account failure limit as login, in parallel too, and other accounts are not affected', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '3', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
    const user = await registerAndLogin(t.app);
    const other = await registerAndLogin(t.app);
    const change = (who: typeof user, current: string) =>
      t!.app.inject({ method: 'POST', url: '/password', headers: who.auth, payload: { current_password: current, new_password: 'a brand new secret' } });
    const answers = statuses(await Promise.all(Array.from({ length: 12 }, () => change(user, 'not my password'))));
    expect(count(answers, 400)).toBe(3);
    expect(count(answers, 429)).toBe(9);
    const withRight = await change(user, password);
    expect(withRight.statusCode).toBe(429);
    expect(Number(withRight.headers['retry-after'])).toBeGreaterThan(0);
    expect((await change(other, password)).statusCode).toBe(200);
  });
});

describe('when two processes share one database and no Redis', () => {
  it('then the failures of one account are counted once for both', async () => {
    const overrides = { RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '4', RATE_LIMIT_LOGIN_PER_MINUTE: '1000' };
    t = await buildTestApp(overrides);
    const second = await anotherProcess(overrides);
    const user = await registerAndLogin(t.app);
    const answers = statuses(
      await Promise.all(Array.from({ length: 20 }, (_, i) => login(i % 2 ? t!.app : second, user.email, 'wrong password'))),
    );
    expect(count(answers, 401)).toBe(4);
    expect(count(answers, 429)).toBe(16);
  });

  it('then logins per address and registrations per address are exact across both', async () => {
    const overrides = { RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_PER_MINUTE: '6', RATE_LIMIT_REGISTER_PER_HOUR: '5' };
    t = await buildTestApp(overrides);
    const second = await anotherProcess(overrides);
    const logins = statuses(await Promise.all(Array.from({ length: 10 }, (_, i) => login(i % 2 ? t!.app : second, uniqueEmail()))));
    expect(count(logins, 401)).toBe(6);
    expect(count(logins, 429)).toBe(4);
    const register = (app: App) => app.inject({ method: 'POST', url: '/register', payload: { email: uniqueEmail(), password } });
    const registrations = statuses(await Promise.all(Array.from({ length: 9 }, (_, i) => register(i % 2 ? t!.app : second))));
    expect(count(registrations, 200)).toBe(5);
    expect(count(registrations, 429)).toBe(4);
    const refused = await register(t.app);
    expect(refused.json()).toEqual({ detail: expect.stringContaining('Too many requests') });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3000);
  });
});

describe('when Redis is set but does not answer', () => {
  it('then login still answers (200 or 401, never 500) and bookings fail open, counted in a metric', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_LOGIN_FAILURES: '2', RATE_LIMIT_BOOKINGS_PER_MINUTE: '1' });
    const user = await registerAndLogin(t.app);
    expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    expect((await login(t.app, user.email)).statusCode).toBe(200);
    // The per-account limit does not need Redis: it is in the database.
    for (let i = 0; i < 2; i++) expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    expect((await login(t.app, user.email)).statusCode).toBe(429);
    const event = await createEvent(t.app, user, { total_tickets: 10 });
    for (let i = 0; i < 3; i++) {
      const booked = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
      expect(booked.statusCode).toBe(200);
    }
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(Number(/^bookfast_rate_limit_fail_open_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
  });
});

describe('TRUST_PROXY', () => {
  const forwardedLogins = (app: App, remoteAddress: string, forwardedFor: (i: number) => string) =>
    Promise.all(Array.from({ length: 4 }, (_, i) => login(app, uniqueEmail(), password, { 'x-forwarded-for': forwardedFor(i) }, remoteAddress)));

  it('when it is off (the default), then a forwarded address is ignored: every client behind it shares one count', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_PER_MINUTE: '2' });
    expect(t.config.trustProxy).toBe(false);
    expect(count(statuses(await forwardedLogins(t.app, '10.0.0.5', (i) => `203.0.113.${i + 1}`)), 429)).toBe(2);
  });

  it('when it names the proxy, then limits key on the forwarded client address', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_PER_MINUTE: '2', TRUST_PROXY: '10.0.0.0/8' });
    // Four clients behind the proxy: each has its own count.
    expect(count(statuses(await forwardedLogins(t.app, '10.0.0.5', (i) => `203.0.113.${i + 1}`)), 429)).toBe(0);
    // One client behind the proxy four times: limited.
    expect(count(statuses(await forwardedLogins(t.app, '10.0.0.5', () => '198.51.100.7')), 429)).toBe(2);
  });

  it('when a client that is not the named proxy sends X-Forwarded-For, then it is ignored', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_PER_MINUTE: '2', TRUST_PROXY: '10.0.0.0/8' });
    expect(count(statuses(await forwardedLogins(t.app, '192.0.2.9', (i) => `203.0.113.${i + 1}`)), 429)).toBe(2);
  });
});

describe('when clients open many live streams', () => {
  it('then past LIVE_MAX_STREAMS_PER_IP an address gets 429, past LIVE_MAX_STREAMS anyone gets 503, and a closed stream frees its place', async () => {
    t = await buildTestApp({ LIVE_MAX_STREAMS_PER_IP: '2', LIVE_MAX_STREAMS: '3', TRUST_PROXY: '127.0.0.1' });
    const owner = await registerAndLogin(t.app);
    const event = await createEvent(t.app, owner);
    const open: AbortController[] = [];
    const stream = async (client: string) => {
      const controller = new AbortController();
      const response = await fetch(`${t!.baseUrl}/events/${event.id}/live`, { headers: { 'x-forwarded-for': client }, signal: controller.signal });
      if (response.status === 200) open.push(controller);
      else await response.body?.cancel();
      return response.status;
    };
    try {
      expect([await stream('203.0.113.1'), await stream('203.0.113.1'), await stream('203.0.113.1')]).toEqual([200, 200, 429]);
      expect(await stream('203.0.113.2')).toBe(200);
      expect(await stream('203.0.113.3')).toBe(503);
      // Full is full: the caps are checked before any query, so an unknown event cannot be used to probe.
      expect((await fetch(`${t.baseUrl}/events/2000000000/live`, { headers: { 'x-forwarded-for': '203.0.113.4' } })).status).toBe(503);
      open.shift()!.abort();
      // The server sees the close a moment later.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await stream('203.0.113.3');
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(200);
    } finally {
      for (const controller of open) controller.abort();
    }
  });
});
