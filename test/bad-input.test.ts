import { describe, expect, it } from 'vitest';
import { setUpTestApp } from './helpers/build-test-app.js';
import { createEvent } from './helpers/factories.js';

// Anything a client can send gets a clear 4xx with a detail, never a 500, and the server keeps serving.

const { t, user } = setUpTestApp({ users: ['user'], checkInventory: true });

const json = { 'content-type': 'application/json' };

describe('when the request is malformed', () => {
  it.each([
    ['POST', '/book', '{"event_id":'],
    ['POST', '/register', '[1,2'],
    ['POST', '/events', 'not json at all'],
  ])('then %s %s with broken JSON answers 400 with a detail', async (method, url, payload) => {
    const response = await t.app.inject({ method: method as 'POST', url, headers: { ...json, ...user.auth }, payload });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ detail: expect.any(String) });
  });

  it('then a body over 1 MiB answers 413', async () => {
    const response = await fetch(`${t.baseUrl}/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(1024 * 1024 + 10) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
  });

  it('then an unknown route answers 404 with a detail', async () => {
    const response = await t.app.inject({ url: '/no/such/route' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ detail: 'Not Found' });
  });

  it('then an unsupported content type answers 415', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: { 'content-type': 'application/xml', ...user.auth }, payload: '<event_id>1</event_id>' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({ detail: expect.any(String) });
  });

  it.each([
    { event_id: 2147483648 },
    { event_id: 1e300 },
    { event_id: -1 },
    { event_id: 'NaN' },
    { event_id: [1] },
    { event_id: { $gt: 0 } },
  ])('then POST /book with %j answers 422', async (payload) => {
    const response = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload });
    expect(response.statusCode).toBe(422);
  });

  it.each(['/events/abc', '/events/0', '/events/2147483648', '/events/1.5', '/event/-1', '/events/NaN'])(
    'then GET %s answers 422',
    async (url) => {
      const response = await t.app.inject({ url });
      expect(response.statusCode).toBe(422);
      expect(response.json<{ detail: { loc: string[] }[] }>().detail[0]!.loc).toEqual(['path', 'id']);
    },
  );

  it('then a path id beyond 32 bits on cancel answers 422', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/tickets/99999999999999/cancel', headers: user.auth });
    expect(response.statusCode).toBe(422);
  });

  it('then the server still serves, and stored data is intact', async () => {
    const event = await createEvent(t.app, user, { event_name: "Robert'); DROP TABLE tickets;--" });
    const booked = await t.app.inject({ method: 'POST', url: '/book', headers: user.auth, payload: { event_id: event.id } });
    expect(booked.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/health' })).json()).toEqual({ status: 'ok' });
  });
});
