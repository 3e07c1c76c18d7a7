import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';

// A POST with nothing to say, sent as curl sends it without -d (no body, no content-type), or as clients
// that always set `content-type: application/json` send it (an empty body).
let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp();
  owner = await registerAndLogin(t.app);
});
afterAll(async () => {
  await t.close();
});

const post = (path: string, token: string, init: { contentType?: string; body?: string } = {}) =>
  fetch(`${t.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(init.contentType ? { 'content-type': init.contentType } : {}) },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
const answer = async (response: Response) => ({ status: response.status, detail: ((await response.json().catch(() => ({}))) as { detail?: unknown }).detail });

describe('a POST with no body', () => {
  it.each([
    ['no content-type', undefined],
    ['content-type: application/json and an empty body', 'application/json'],
  ])('when the queue, waiting-list and stream-token POSTs are sent with %s, then they answer as with {}', async (_label, contentType) => {
    // Arrange: an event with seats (the waiting list refuses it, 409) and no waiting room (the queue, 404).
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const paths = [`/events/${event.id}/queue`, `/events/${event.id}/waitlist`, `/events/${event.id}/queue/stream-token`];
    // Act
    const bare = await Promise.all(paths.map(async (path) => answer(await post(path, owner.token, { ...(contentType ? { contentType } : {}), body: contentType ? '' : undefined }))));
    const withEmptyObject = await Promise.all(paths.map(async (path) => answer(await post(path, owner.token, { contentType: 'application/json', body: '{}' }))));
    // Assert: the same status and message as with `-d '{}'` (the stream token differs each time).
    expect(bare.map((a) => a.status)).toEqual(withEmptyObject.map((a) => a.status));
    expect(bare.slice(0, 2).map((a) => a.status)).toEqual([404, 409]);
    // A stream token (200) differs each time; anything else must be the very same answer.
    expect(bare.filter((a) => a.status !== 200)).toEqual(withEmptyObject.filter((a) => a.status !== 200));
  });

  it('when a route whose body has required fields gets none, then the 422 names a missing field, not "body must be object"', async () => {
    const response = await post('/events', owner.token, { contentType: 'application/json', body: '' });
    expect(response.status).toBe(422);
    const { detail } = (await response.json()) as { detail: { loc: string[]; msg: string }[] };
    expect(detail[0]).toMatchObject({ loc: ['body', 'event_name'], msg: 'Field required' });
  });

  it('when a body is sent but is not JSON, then it is still refused with a 400', async () => {
    const response = await post('/events', owner.token, { contentType: 'application/json', body: '{' });
    expect(response.status).toBe(400);
  });
});
