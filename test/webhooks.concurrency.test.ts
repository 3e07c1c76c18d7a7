import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { IN_FLIGHT_PER_ENDPOINT } from '../src/webhooks/worker.js';
import { createEvent } from './helpers/factories.js';
import { useWebhooksApp } from './helpers/webhooks-app.js';

// Issue 27: one endpoint gets different resources' webhooks concurrently (a bounded number in flight), and
// each resource's in the order of its changes.
const w = useWebhooksApp();

describe('when one endpoint has a backlog of many tickets and of edits to one event', () => {
  it('then 16 are in flight at once and never more, over kept connections, and the event’s edits still arrive in order', { timeout: 30_000 }, async () => {
    const event = await createEvent(w.t.app, w.organizer, { total_tickets: 100 });
    const hook = await w.subscribe(w.organizer, ['ticket.booked', 'event.updated'], event.id);
    const db = w.t.testDb.database.db;
    // The test holds the endpoint's lease, as a worker busy with it would: the changes queue up meanwhile.
    await db.execute(sql`UPDATE webhook_endpoints SET lease_until = now() + interval '1 hour', lease_token = 'test' WHERE id = ${hook.id}`);
    const names: string[] = [];
    const tickets: number[] = [];
    for (let i = 0; i < 40; i++) {
      tickets.push((await w.bookTicket(event.id)).id);
      if (i % 4 === 0) {
        names.push(`Edit ${i}`);
        expect((await w.rename(event.id, `Edit ${i}`)).statusCode).toBe(200);
      }
    }
    // The receiver holds the first requests until 16 are in flight (one at a time would never get there),
    // then answers every request at once; it counts what is in flight throughout.
    let inFlight = 0;
    let maxInFlight = 0;
    const held: (() => void)[] = [];
    w.receiver.respondWith((request, response) => {
      if (request.url !== hook.path) return void response.writeHead(200).end();
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      const answer = () => {
        inFlight--;
        response.writeHead(200).end();
      };
      if (maxInFlight < IN_FLIGHT_PER_ENDPOINT) return void held.push(answer);
      for (const waiting of held.splice(0)) waiting();
      answer();
    });
    try {
      await db.execute(sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL WHERE id = ${hook.id}`);

      const received = await w.waitAt(hook.path, tickets.length + names.length);

      expect(IN_FLIGHT_PER_ENDPOINT).toBe(16);
      expect(maxInFlight).toBe(IN_FLIGHT_PER_ENDPOINT);
      expect(new Set(received.map((r) => r.id)).size).toBe(received.length);
      expect(received.filter((r) => r.json.type === 'ticket.booked').map((r) => r.json.data.id as number).sort((a, b) => a - b)).toEqual(tickets);
      expect(received.filter((r) => r.json.type === 'event.updated').map((r) => r.json.data.event_name)).toEqual(names);
      expect(new Set(received.map((r) => r.remotePort)).size).toBeLessThanOrEqual(IN_FLIGHT_PER_ENDPOINT);
    } finally {
      w.receiver.respondWith((_request, response) => void response.writeHead(200).end('ok'));
    }
  });
});
