import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';

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
