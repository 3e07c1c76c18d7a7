import { createSigner, createDecoder } from 'fast-jwt';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/client.js';
import { buildApp } from '../src/app.js';
import { buildTestApp, testConfig, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, uniqueEmail } from './helpers/factories.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const password = 'correct horse battery';
const login = (app: TestApp['app'] | Awaited<ReturnType<typeof buildApp>>, username: string, pass = password) =>
  app.inject({ method: 'POST', url: '/login', payload: { username, password: pass } });

describe('abuse limits', () => {
  it('when one address logs in too often, then 429 with Retry-After', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_PER_MINUTE: '5' });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await login(t.app, uniqueEmail())).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const limited = await login(t.app, uniqueEmail());
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toEqual({ detail: expect.stringContaining('Too many requests') });
  });

  it('when one account fails too often, then even its right password waits', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_FAILURES: '3' });
    const user = await registerAndLogin(t.app);
    for (let i = 0; i < 3; i++) expect((await login(t.app, user.email, 'wrong password')).statusCode).toBe(401);
    const blocked = await login(t.app, user.email.toUpperCase());
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another account is not affected.
    const other = await registerAndLogin(t.app);
    expect((await login(t.app, other.email)).statusCode).toBe(200);
  });

  it('when one address registers too often, then 429', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_REGISTER_PER_HOUR: '2' });
    const register = () => t!.app.inject({ method: 'POST', url: '/register', payload: { email: uniqueEmail(), password } });
    expect([(await register()).statusCode, (await register()).statusCode, (await register()).statusCode]).toEqual([200, 200, 429]);
  });

  it('when one buyer books too often, then that buyer gets 429 and others still book; /docs is never limited', async () => {
    t = await buildTestApp({ RATE_LIMITS: 'on', RATE_LIMIT_BOOKINGS_PER_MINUTE: '3' });
    const buyer = await registerAndLogin(t.app);
    const other = await registerAndLogin(t.app);
    const event = await createEvent(t.app, buyer);
    const book = (user = buyer) => t!.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await book()).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await book(other)).statusCode).toBe(200);
    for (let i = 0; i < 50; i++) expect((await t.app.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });

  it.skipIf(!process.env.TEST_REDIS_URL)('when REDIS_URL is set, then two processes share one buyer\'s booking count', async () => {
    const overrides = { RATE_LIMITS: 'on', REDIS_URL: process.env.TEST_REDIS_URL!, RATE_LIMIT_BOOKINGS_PER_MINUTE: '3' };
    t = await buildTestApp(overrides);
    const second = await buildApp({ config: testConfig({ ...overrides, SECRET_KEY: t.config.secretKey }), database: t.testDb.database, logger: false });
    try {
      const registered = await registerAndLogin(t.app);
      // Redis is shared with other test files: an id no other fresh database hands out keeps the key ours.
      const id = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
      await t.testDb.database.db.execute(sql`UPDATE users SET id = ${id} WHERE id = ${registered.id}`);
      const token = (await login(t.app, registered.email)).json<{ access_token: string }>().access_token;
      const event = await createEvent(t.app, { ...registered, id, token, auth: { authorization: `Bearer ${token}` } });
      const book = (app: typeof second) =>
        app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: event.id } });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await book(i % 2 ? t.app : second)).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await second.close();
    }
  });
});

describe('tokens', () => {
  it('when a token is issued, then it carries sub, iat, exp, iss and aud', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    const claims = createDecoder()(user.token) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: String(user.id), iss: 'bookfast', aud: 'bookfast-api', iat: expect.any(Number), exp: expect.any(Number) });
    expect(claims.exp as number).toBeGreaterThan(claims.iat as number);
  });

  it('when a token is dated in the future or meant for another audience, then 401', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    const sign = createSigner({ key: t.config.secretKey, algorithm: 'HS256', expiresIn: 600_000 });
    const base = { sub: String(user.id), email: user.email, ver: 0, iss: 'bookfast', aud: 'bookfast-api' };
    const valid = sign(base);
    const future = sign({ ...base, iat: Math.floor(Date.now() / 1000) + 3600 });
    const otherAudience = sign({ ...base, aud: 'someone-else' });
    const book = (token: string) => t!.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: 999 } });
    expect((await book(valid)).statusCode).toBe(404);
    expect((await book(future)).statusCode).toBe(401);
    expect((await book(otherAudience)).statusCode).toBe(401);
  });

  it('when a token that was accepted (and remembered) expires, then the next request with it is 401', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    // exp has whole seconds: this token is good for one to two seconds from now.
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const shortLived = createSigner({ key: t.config.secretKey, algorithm: 'HS256' })({
      sub: String(user.id),
      email: user.email,
      ver: 0,
      iss: 'bookfast',
      aud: 'bookfast-api',
      exp: expiresAt,
    });
    const book = () => t!.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${shortLived}` }, payload: { event_id: 999 } });
    expect((await book()).statusCode).toBe(404);
    expect((await book()).statusCode).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));
    expect((await book()).statusCode).toBe(401);
  });

  it('when the user logs out, then every earlier token is refused', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    const second = (await login(t.app, user.email)).json<{ access_token: string }>().access_token;
    expect((await t.app.inject({ method: 'POST', url: '/logout', headers: user.auth })).statusCode).toBe(204);
    for (const token of [user.token, second]) {
      const response = await t.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: 1 } });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    const fresh = (await login(t.app, user.email)).json<{ access_token: string }>().access_token;
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${fresh}` }, payload: { event_id: 1 } });
    expect(response.statusCode).toBe(404);
  });

  it('when the password changes, then old tokens die, the new token works, and only the new password logs in', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    const wrong = await t.app.inject({ method: 'POST', url: '/password', headers: user.auth, payload: { current_password: 'nope', new_password: 'another long one' } });
    expect(wrong.statusCode).toBe(400);
    const tooLong = await t.app.inject({ method: 'POST', url: '/password', headers: user.auth, payload: { current_password: password, new_password: 'é'.repeat(37) } });
    expect(tooLong.statusCode).toBe(422);
    const changed = await t.app.inject({ method: 'POST', url: '/password', headers: user.auth, payload: { current_password: password, new_password: 'another long one' } });
    expect(changed.statusCode).toBe(200);
    const newToken = changed.json<{ access_token: string }>().access_token;
    const bookWith = (token: string) => t!.app.inject({ method: 'POST', url: '/book', headers: { authorization: `Bearer ${token}` }, payload: { event_id: 1 } });
    expect((await bookWith(user.token)).statusCode).toBe(401);
    expect((await bookWith(newToken)).statusCode).toBe(404);
    expect((await login(t.app, user.email)).statusCode).toBe(401);
    expect((await login(t.app, user.email, 'another long one')).statusCode).toBe(200);
  });

  it('when the bcrypt cost was raised, then a login rehashes the password at the new cost', async () => {
    t = await buildTestApp();
    const user = await registerAndLogin(t.app);
    const hashOf = async () => (await queryRows<{ password: string }>(t!.testDb.database.db, sql`SELECT password FROM users WHERE id = ${user.id}`))[0]!.password;
    expect(await hashOf()).toMatch(/^\$2b\$10\$/);
    // The same database served by an app configured with a higher cost, as after a deploy.
    const stronger = await buildApp({ config: testConfig({ BCRYPT_COST: '11' }), database: t.testDb.database, logger: false });
    try {
      expect((await login(stronger, user.email)).statusCode).toBe(200);
      expect(await hashOf()).toMatch(/^\$2b\$11\$/);
      expect((await login(stronger, user.email)).statusCode).toBe(200);
    } finally {
      await stronger.close();
    }
  });
});

describe('headers', () => {
  it('when any route answers, then security headers are set and CORS is off by default', async () => {
    t = await buildTestApp();
    const response = await t.app.inject({ url: '/', headers: { origin: 'https://evil.example' } });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBeDefined();
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when CORS_ORIGINS lists a shop, then that origin and only it is allowed', async () => {
    t = await buildTestApp({ CORS_ORIGINS: 'https://shop.example' });
    const allowed = await t.app.inject({ url: '/events', headers: { origin: 'https://shop.example' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example');
    const other = await t.app.inject({ url: '/events', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
