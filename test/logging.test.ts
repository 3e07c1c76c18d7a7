import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { lazyChildLoggerFactory } from '../src/http/logging.js';
import { testConfig } from './helpers/build-test-app.js';
import { uniqueEmail } from './helpers/factories.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// The app as production builds it, but its JSON log lines land in `lines` instead of stdout.
let app: FastifyInstance;
let testDb: TestDatabase;
let baseUrl: string;
const lines: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  // trace: the most a misconfigured production could ever write.
  app = await buildApp({ config: testConfig(), database: testDb.database, logger: { level: 'trace', stream: { write: (line: string) => lines.push(line) } } });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await testDb.drop();
});
beforeEach(() => {
  lines.length = 0;
});

type LogLine = Record<string, unknown> & { reqId?: string; msg?: string };
const logged = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('when a request carries none, then one is generated, sent back in X-Request-Id, and on each of its log lines', async () => {
    const response = await app.inject({ url: '/health' });
    const id = response.headers['x-request-id'];
    expect(id).toMatch(UUID);
    const ofRequest = logged().filter((line) => line.reqId === id);
    expect(ofRequest.map((line) => line.msg)).toEqual(['incoming request', 'request completed']);
  });

  it('when two requests arrive, then they get different ids', async () => {
    const [a, b] = await Promise.all([app.inject({ url: '/' }), app.inject({ url: '/' })]);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('when a proxy sends a plain short X-Request-Id, then it is kept, in the answer and the logs', async () => {
    const response = await app.inject({ url: '/events/2000000000', headers: { 'x-request-id': 'edge-7f3a.91:2' } });
    expect(response.statusCode).toBe(404);
    expect(response.headers['x-request-id']).toBe('edge-7f3a.91:2');
    expect(logged().filter((line) => line.reqId === 'edge-7f3a.91:2')).toHaveLength(2);
  });

  it.each([
    ['too long', 'x'.repeat(65)],
    ['with spaces', 'two words'],
    ['with a forged JSON fragment', '1","level":60,"msg":"forged'],
  ])('when the incoming id is %s, then it is replaced by a generated one', async (_label, given) => {
    const response = await app.inject({ url: '/', headers: { 'x-request-id': given } });
    expect(response.headers['x-request-id']).toMatch(UUID);
  });

  it('when the answer is an error, then it still carries the id', async () => {
    const response = await app.inject({ method: 'POST', url: '/book', payload: { event_id: 1 } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['x-request-id']).toMatch(UUID);
  });
});

describe('secrets in logs', () => {
  it('when buyers register, log in, book, cancel and mistype, then no password or token is ever logged', async () => {
    const email = uniqueEmail('secretive');
    const password = 'Tr0ub4dor&3-never-logged';
    const json = (path: string, body: unknown, token?: string) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    expect((await json('/register', { email, password })).status).toBe(200);
    // The OAuth2 form too, as Swagger UI sends it.
    const form = await fetch(`${baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password }).toString(),
    });
    const { access_token: token } = (await form.json()) as { access_token: string };
    expect(token).toBeTruthy();
    expect((await json('/login', { username: email, password: `${password}-wrong` })).status).toBe(401);
    expect((await json('/register', { email: 'not-an-email', password })).status).toBe(422);
    const event = (await (
      await json('/events', { event_name: 'Quiet', date: '2031-01-01T20:00:00Z', ticket_price: '5.00', total_tickets: 3 }, token)
    ).json()) as { id: number };
    const ticket = (await (await json('/book', { event_id: event.id }, token)).json()) as { id: number; code: string };
    expect((await json(`/tickets/${ticket.id}/cancel`, {}, token)).status).toBe(200);
    expect((await json('/book', { event_id: event.id }, `${token}x`)).status).toBe(401);
    // EventSource cannot send headers, so a token may come in the query string.
    await fetch(`${baseUrl}/events/${event.id}?token=${token}&access_token=${token}`);

    const text = lines.join('');
    expect(logged().filter((line) => line.reqId).length).toBeGreaterThanOrEqual(18);
    for (const secret of [password, token, token.split('.')[2]!, ticket.code]) expect(text).not.toContain(secret);
    expect(text).toContain(`/events/${event.id}?token=[Redacted]&access_token=[Redacted]`);
  });

  it('when code logs an object that holds secrets, then they are censored wherever they sit', () => {
    app.log.info(
      {
        req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'session=s3cr3t' } },
        body: { email: 'a@example.com', password: 'hunter2-hunter2' },
        access_token: 'tok-123',
        user: { credentials: { token: 'deep-token' } },
      },
      'debugging a login',
    );
    const [line] = logged();
    const text = JSON.stringify(line);
    for (const secret of ['abc.def.ghi', 's3cr3t', 'hunter2', 'tok-123', 'deep-token']) expect(text).not.toContain(secret);
    expect(line).toMatchObject({ body: { email: 'a@example.com', password: '[Redacted]' }, access_token: '[Redacted]' });
  });

  it('when a failed query is logged, then its parameters (a password hash, say) are not', () => {
    const failed = Object.assign(new Error("Failed query: insert into users (email, hashed_password) values ($1, $2)\nparams: a@example.com,$2b$10$hashhashhash"), {
      params: ['a@example.com', '$2b$10$hashhashhash'],
      cause: Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), { code: '23505' }),
    });
    app.log.error({ err: failed }, 'unhandled error');
    const [line] = logged();
    expect(JSON.stringify(line)).not.toContain('hashhashhash');
    expect(line).toMatchObject({ err: { message: expect.stringContaining('params: [Redacted]'), cause: { code: '23505' } } });
  });
});

describe('request loggers made only when a line is written', () => {
  const quietApp = async (level: string, sink: string[]) => {
    const quiet = Fastify({ logger: { level, stream: { write: (line: string) => sink.push(line) } }, childLoggerFactory: lazyChildLoggerFactory });
    quiet.get('/', async (request) => {
      request.log.info({ step: 'info' }, 'below warn');
      request.log.warn({ step: 'warn' }, 'a warning');
      request.log.child({ part: 'inner' }).error('from a child');
      return { level: request.log.level };
    });
    await quiet.ready();
    return quiet;
  };

  it('when the level is warn, then info lines are dropped and the warn and error lines carry the request id', async () => {
    const sink: string[] = [];
    const quiet = await quietApp('warn', sink);
    const response = await quiet.inject({ url: '/', headers: { 'x-request-id': 'quiet-1' } });
    await quiet.close();
    expect(response.json()).toEqual({ level: 'warn' });
    const written = sink.map((line) => JSON.parse(line) as LogLine);
    expect(written.map((line) => line.msg)).toEqual(['a warning', 'from a child']);
    expect(written.every((line) => typeof line.reqId === 'string' && line.reqId.length > 0)).toBe(true);
    expect(written[1]).toMatchObject({ part: 'inner' });
  });

  it('when the level is info, then the request logs its own lines and ours, all with one request id', async () => {
    const sink: string[] = [];
    const quiet = await quietApp('info', sink);
    await quiet.inject({ url: '/' });
    await quiet.close();
    const written = sink.map((line) => JSON.parse(line) as LogLine).filter((line) => line.reqId !== undefined);
    expect(written.map((line) => line.msg)).toEqual(['incoming request', 'below warn', 'a warning', 'from a child', 'request completed']);
    expect(new Set(written.map((line) => line.reqId)).size).toBe(1);
  });
});
