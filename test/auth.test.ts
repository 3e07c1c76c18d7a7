import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { registerAndLogin, uniqueEmail } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const password = 'correct horse battery';

describe('POST /register', () => {
  it('when the email is new, then it answers id and email and never the hash', async () => {
    const email = uniqueEmail();
    const response = await t.app.inject({ method: 'POST', url: '/register', payload: { email, password } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ id: expect.any(Number), email });
    expect(response.body).not.toContain('$2b$');
  });

  it('when the email is taken in another letter case, then it answers 400', async () => {
    const email = uniqueEmail();
    await t.app.inject({ method: 'POST', url: '/register', payload: { email, password } });
    const again = await t.app.inject({ method: 'POST', url: '/register', payload: { email: email.toUpperCase(), password } });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toEqual({ detail: 'Email already registered' });
  });

  it('when ten registrations of one email race, then exactly one succeeds', async () => {
    const email = uniqueEmail();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => t.app.inject({ method: 'POST', url: '/register', payload: { email, password } })),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, ...Array(9).fill(400)]);
  });

  it.each([
    [{ email: 'not-an-email', password }, ['body', 'email']],
    [{ email: uniqueEmail(), password: 'short' }, ['body', 'password']],
    [{ email: uniqueEmail(), password: 'x'.repeat(73) }, ['body', 'password']],
    // 36 two-byte characters: 36 characters but 72 bytes is fine; 37 is 74 bytes and is refused
    [{ email: uniqueEmail(), password: 'é'.repeat(37) }, ['body', 'password']],
    [{ password }, ['body', 'email']],
  ])('when the body is %j, then it answers 422 in the FastAPI shape', async (payload, loc) => {
    const response = await t.app.inject({ method: 'POST', url: '/register', payload });
    expect(response.statusCode).toBe(422);
    const detail = response.json<{ detail: { loc: unknown[]; msg: string; type: string }[] }>().detail;
    expect(detail[0]).toMatchObject({ loc, msg: expect.any(String), type: expect.any(String) });
  });

  it('when the password is 72 bytes of multibyte text, then it is accepted', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/register', payload: { email: uniqueEmail(), password: 'é'.repeat(36) } });
    expect(response.statusCode).toBe(200);
  });
});

describe('POST /login', () => {
  it('when the OAuth2 form is right, then it answers a bearer token', async () => {
    const email = uniqueEmail();
    await t.app.inject({ method: 'POST', url: '/register', payload: { email, password } });
    const response = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: email.toUpperCase(), password, grant_type: 'password' }).toString(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ access_token: expect.any(String), token_type: 'bearer' });
  });

  it('when the email is unknown or the password wrong, then both answer the same 401', async () => {
    const user = await registerAndLogin(t.app);
    const wrongPassword = await t.app.inject({ method: 'POST', url: '/login', payload: { username: user.email, password: 'wrong password' } });
    const unknownEmail = await t.app.inject({ method: 'POST', url: '/login', payload: { username: uniqueEmail(), password } });
    for (const response of [wrongPassword, unknownEmail]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    expect(wrongPassword.body).toBe(unknownEmail.body);
  });
});

describe('authenticated routes', () => {
  const book = (authorization?: string) =>
    t.app.inject({ method: 'POST', url: '/book', headers: authorization ? { authorization } : {}, payload: { event_id: 1 } });

  it('when a token is missing, malformed, expired, without expiry, forged or of another algorithm, then 401 with WWW-Authenticate', async () => {
    const user = await registerAndLogin(t.app);
    const payload = { sub: String(user.id), email: user.email };
    const otherKey = createSigner({ key: 'another-secret-key-another-secret-key', algorithm: 'HS256' })(payload);
    const expired = createSigner({ key: t.config.secretKey, algorithm: 'HS256' })({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 });
    const hs512 = createSigner({ key: t.config.secretKey, algorithm: 'HS512' })(payload);
    const none = createSigner({ algorithm: 'none' })(payload);
    const tampered = user.token.slice(0, -3) + (user.token.endsWith('AAA') ? 'BBB' : 'AAA');
    // Signed with the right key and claims, but never expiring: not a token this service issues.
    const noExpiry = createSigner({ key: t.config.secretKey, algorithm: 'HS256' })({ ...payload, ver: 0, iss: 'bookfast', aud: 'bookfast-api' });
    for (const header of [
      undefined,
      'Bearer',
      'Basic abc',
      'Bearer not.a.jwt',
      `Bearer ${otherKey}`,
      `Bearer ${expired}`,
      `Bearer ${noExpiry}`,
      `Bearer ${hs512}`,
      `Bearer ${none}`,
      `Bearer ${tampered}`,
    ]) {
      const response = await book(header);
      expect(response.statusCode, String(header)).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json()).toEqual({ detail: expect.any(String) });
    }
  });

  it('when the token is valid, then the route runs', async () => {
    const user = await registerAndLogin(t.app);
    const response = await book(user.auth.authorization);
    expect(response.statusCode).toBe(404);
  });
});
