import { createSigner } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import { setUpTestApp } from './helpers/build-test-app.js';
import { registerAndLogin, uniqueEmail } from './helpers/factories.js';

const { t } = setUpTestApp();

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

  /** The claims of a token this service issued (sub, email, ver, iat, exp, iss, aud). */
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  /** Signs `claims` exactly as given (fast-jwt keeps a given iat), by default as the service does: HS256 with its key. */
  const signed = (claims: Record<string, unknown>, { key = t.config.secretKey, algorithm = 'HS256' as 'HS256' | 'HS512' | 'none' } = {}) =>
    algorithm === 'none' ? createSigner({ algorithm })(claims) : createSigner({ key, algorithm })(claims);

  it('when a valid token is re-signed with one thing changed (key, expiry, algorithm, signature), then 401 with WWW-Authenticate', async () => {
    const user = await registerAndLogin(t.app);
    const claims = claimsOf(user.token);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'email', 'exp', 'iat', 'iss', 'sub', 'ver']);
    // The control: the same claims re-signed the same way are accepted, so each token below differs from an
    // accepted one only in what its name says.
    expect((await book(`Bearer ${signed(claims)}`)).statusCode).toBe(404);

    const withoutExpiry = Object.fromEntries(Object.entries(claims).filter(([claim]) => claim !== 'exp'));
    const bad = {
      'another key': signed(claims, { key: 'another-secret-key-another-secret-key' }),
      expired: signed({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }),
      'no expiry': signed(withoutExpiry),
      HS512: signed(claims, { algorithm: 'HS512' }),
      none: signed(claims, { algorithm: 'none' }),
      'a changed signature': user.token.slice(0, -3) + (user.token.endsWith('AAA') ? 'BBB' : 'AAA'),
    };
    for (const [name, token] of Object.entries(bad)) {
      const response = await book(`Bearer ${token}`);
      expect(response.statusCode, name).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json()).toEqual({ detail: 'Could not validate credentials' });
    }
  });

  it('when the Authorization header is missing or not a bearer token, then 401 with WWW-Authenticate', async () => {
    for (const header of [undefined, 'Bearer', 'Basic abc', 'Bearer not.a.jwt']) {
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
