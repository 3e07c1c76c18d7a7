import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { queryRows } from '../src/db/client.js';
import { buildTestApp, testConfig, type TestApp } from './helpers/build-test-app.js';
import { createTestDatabase } from './helpers/test-db.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('service routes', () => {
  it('when GET /, then the old service answer', async () => {
    const response = await t.app.inject({ url: '/' });
    expect(response.json()).toEqual({ message: 'BookFast API' });
  });

  it('when the database answers, then /health is ok', async () => {
    const response = await t.app.inject({ url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});

describe('API docs', () => {
  it('when GET /docs, then Swagger UI is served', async () => {
    const response = await fetch(`${t.baseUrl}/docs`, { redirect: 'follow' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger');
  });

  it('when GET /docs/json, then every route is documented with its errors, and bearer auth points at /login', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, { flows: { password: { tokenUrl: string } } }> };
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/', '/health', '/register', '/login', '/events', '/events/{id}', '/event/{id}', '/book', '/tickets/{id}/cancel']),
    );
    expect(Object.keys(doc.paths['/book']!.post!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '422']));
    expect(doc.paths['/book']!.post!.security).toBeDefined();
    expect(doc.components.securitySchemes.OAuth2PasswordBearer!.flows.password.tokenUrl).toBe('/login');
  });
});

describe('when the database is gone', () => {
  it('then /health answers 503', async () => {
    const local = await buildTestApp();
    await local.testDb.database.close();
    const response = await local.app.inject({ url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ detail: 'Database unavailable' });
    await local.app.close();
    await local.testDb.drop().catch(() => undefined);
  });
});

// Issue 12: a held row lock made 4 of 10 health checks report "Database unavailable" while it answered.
describe.skipIf(!process.env.DATABASE_URL)('when every pooled connection waits on a row lock', () => {
  it('then /health and /health/ready still answer 200, because the database does', async () => {
    const testDb = await createTestDatabase({ poolSize: 1 });
    const app = await buildApp({ config: testConfig({ DB_CONNECT_TIMEOUT_MS: '1000' }), database: testDb.database, logger: false });
    const locker = new pg.Client({ connectionString: testDb.url });
    await locker.connect();
    try {
      const [event] = await queryRows<{ id: number }>(
        testDb.database.db,
        sql`INSERT INTO events (event_name, date, ticket_price, total_tickets) VALUES ('Locked', now() + interval '1 day', 1, 10) RETURNING id`,
      );
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM events WHERE id = $1 FOR UPDATE', [event!.id]);
      // The pool's only connection now waits on that lock.
      const waiting = queryRows(testDb.database.db, sql`UPDATE events SET total_tickets = total_tickets + 1 WHERE id = ${event!.id}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(testDb.database.stats!()).toMatchObject({ total: 1, idle: 0 });

      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => app.inject({ url: i % 2 ? '/health' : '/health/ready' })));
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array(10).fill(200));

      await locker.query('COMMIT');
      await waiting;
    } finally {
      await locker.end();
      await app.close();
      await testDb.drop();
    }
  });
});
