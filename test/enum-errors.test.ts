import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/build-test-app.js';
import { createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';

// A 422 on a closed list of values says which values are allowed, whichever route and schema it comes from.
let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await buildTestApp();
  owner = await registerAndLogin(t.app);
});
afterAll(async () => {
  await t.close();
});

type Issue = { loc: (string | number)[]; msg: string; type: string };
const send = (method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) =>
  t.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${owner.token}` } });

describe('422s on enums', () => {
  it('when a webhook lists an unknown type, then the one issue names every allowed type, ping included', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const response = await send('POST', '/webhooks', { url: 'https://example.com/hook', events: ['order.bogus'], event_id: event.id });
    expect(response.statusCode).toBe(422);
    const detail = response.json<{ detail: Issue[] }>().detail;
    expect(detail).toHaveLength(1);
    expect(detail[0]).toMatchObject({ loc: ['body', 'events', 0], type: 'enum' });
    for (const type of ['"order.created"', '"ticket.checked_in"', '"event.updated"', '"ping"']) expect(detail[0]!.msg).toContain(type);
  });

  it('when a webhook lists ping, as the README’s table of types shows it, then it is accepted', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const response = await send('POST', '/webhooks', { url: 'https://example.com/hook', events: ['ping', 'ticket.booked'], event_id: event.id });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json<{ events: string[] }>().events).toEqual(['ping', 'ticket.booked']);
  });

  it('when a field that is a union of literals gets another value, then one issue lists them (not one per literal)', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const response = await send('PATCH', `/events/${event.id}/waiting-room`, { state: 'bogus' });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: Issue[] }>().detail).toEqual([
      { loc: ['body', 'state'], msg: 'must be one of: "open", "paused", "passthrough", "closed"', type: 'enum' },
    ]);
  });

  it('when a query parameter is outside its list, then the issue lists the list too', async () => {
    const response = await send('GET', '/webhooks/1/deliveries?status=bogus');
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: Issue[] }>().detail).toEqual([{ loc: ['query', 'status'], msg: 'must be one of: "pending", "succeeded", "failed"', type: 'enum' }]);
  });

  it('when a union mixes a literal with other types, then its issues are left as they were', async () => {
    // max_per_user: an integer or null; a string there is not a closed list of values.
    const event = await createEvent(t.app, owner, { total_tickets: 5 });
    const response = await send('PATCH', `/events/${event.id}`, { max_per_user: 'many' });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ detail: Issue[] }>().detail.every((issue) => !issue.msg.startsWith('must be one of'))).toBe(true);
  });
});
