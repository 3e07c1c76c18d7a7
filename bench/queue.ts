// The waiting-room scenario of `npm run bench` (issue 14): joins/s and polls/s of a crowd of queued buyers at
// the bench's connection count (each with p99), the admission rate measured against its setting, and POST
// /book with a Queue-Pass against POST /book on an event without a room.
import type autocannon from 'autocannon';
import type pg from 'pg';
import { closedLoop } from './closed-loop.js';
import { crowdTokens } from './crowd.js';

export interface QueueScenarioOptions {
  baseUrl: string;
  db: pg.Client;
  /** The server's SECRET_KEY: the crowd's tokens are signed here, as /login would sign them (no bcrypt). */
  secretKey: string;
  connections: number;
  duration: number;
  /** How many buyers join the line. */
  queued: number;
  /** Buyers with real accounts (from the bench's makeBuyers) who book with passes. */
  buyerTokens: string[];
  ownerToken: string;
  /** The bench's own closed-loop measurement of an autocannon run (the same as scenario (c)). */
  measure: (options: autocannon.Options) => Promise<{ okPerSecond: number; requestsPerSecond: number; p99: number; statuses: Record<string, number> }>;
}

// The room's rate for the measurement: 100 admissions a second, far from max_active.
const ADMIT_PER_MINUTE = 6000;

export async function runQueueScenario(o: QueueScenarioOptions) {
  const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const headers = body === undefined ? { authorization: `Bearer ${token}` } : json(token);
    const response = await fetch(`${o.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : ((await response.json()) as Record<string, unknown>);
  };
  const createEvent = async (name: string) =>
    (await call('POST', '/events', o.ownerToken, { event_name: name, date: '2030-01-01T20:00:00Z', ticket_price: '10.00', total_tickets: 1_000_000 }))!.id as number;
  const room = (onsaleAt: Date, admitPerMinute = ADMIT_PER_MINUTE) => ({
    prequeue_opens_at: new Date(Date.now() - 60_000).toISOString(),
    onsale_at: onsaleAt.toISOString(),
    admit_per_minute: admitPerMinute,
    max_active: 1_000_000,
    pass_minutes: 120,
    grace_seconds: 3600,
  });

  const crowd = await crowdTokens(o.db, o.secretKey, o.queued);
  const queueEvent = await createEvent('Queue (joins and polls)');
  await call('PUT', `/events/${queueEvent}/waiting-room`, o.ownerToken, room(new Date(Date.now() + 3_600_000)));

  // Joins: every buyer once, into the pre-queue (no admissions meanwhile).
  const joins = await closedLoop(o.baseUrl, o.connections, { total: crowd.length }, (i) => ({
    method: 'POST',
    path: `/events/${queueEvent}/queue`,
    headers: { authorization: `Bearer ${crowd[i]!}` },
  }));

  // The start: one shuffle of the whole pre-queue, then admissions at ADMIT_PER_MINUTE while the crowd polls.
  const shuffleStarted = Date.now();
  await call('PUT', `/events/${queueEvent}/waiting-room`, o.ownerToken, room(new Date()));
  while (Number((await o.db.query('SELECT count(*) AS n FROM queue_entries WHERE event_id = $1 AND position IS NULL', [queueEvent])).rows[0].n) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const shuffleSeconds = (Date.now() - shuffleStarted) / 1000;
  const polls = await closedLoop(o.baseUrl, o.connections, { seconds: o.duration }, (i) => ({
    method: 'GET',
    path: `/events/${queueEvent}/queue/me`,
    headers: { authorization: `Bearer ${crowd[i % crowd.length]!}` },
  }));
  // On the database's own timestamps: the slope of the cumulative admissions over time (least squares over
  // every batch). Admissions come in batches of uneven size (one window's worth split over a few ticks), so
  // "all but the last batch over the time from the first to the last" swung by a whole batch with where the
  // run happened to end (from -4% to +6% on the same pacing).
  const { rows } = await o.db.query<{ at: number; n: string }>(
    `SELECT extract(epoch FROM admitted_at)::float8 AS at, count(*) AS n FROM queue_entries
     WHERE event_id = $1 AND admitted_at IS NOT NULL GROUP BY admitted_at ORDER BY admitted_at`,
    [queueEvent],
  );
  let cumulative = 0;
  const points = rows.map((row) => ({ x: row.at - rows[0]!.at, y: (cumulative += Number(row.n)) }));
  const admitted = cumulative;
  const perMinute = slope(points) * 60;
  await call('DELETE', `/events/${queueEvent}/waiting-room`, o.ownerToken);

  // POST /book: an event with an open room (every buyer holding a pass) against one without a room.
  const passEvent = await createEvent('Queue (POST /book with a pass)');
  const plainEvent = await createEvent('Queue (POST /book, no room)');
  await call('PUT', `/events/${passEvent}/waiting-room`, o.ownerToken, room(new Date(), 600_000));
  for (const token of o.buyerTokens) await call('POST', `/events/${passEvent}/queue`, token);
  const passes: string[] = [];
  for (const token of o.buyerTokens) {
    for (;;) {
      const entry = (await call('GET', `/events/${passEvent}/queue/me`, token))!;
      if (typeof entry.pass === 'string') {
        passes.push(entry.pass);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const bookings = (eventId: number, withPass: boolean, duration: number): autocannon.Options => ({
    url: o.baseUrl,
    connections: o.connections,
    duration,
    requests: o.buyerTokens.map((token, i) => ({
      method: 'POST' as const,
      path: '/book',
      body: JSON.stringify({ event_id: eventId }),
      headers: { ...json(token), ...(withPass ? { 'queue-pass': passes[i]! } : {}) },
    })),
  });
  // Measured A B B A (half the duration each) after a warm-up of each, and averaged: the runs before this one
  // (the crowd's rows deleted, vacuum, a growing tickets table) drift the machine, and a fixed order would
  // count that drift as the pass check's cost.
  const half = Math.max(1, o.duration / 2);
  await o.measure(bookings(plainEvent, false, 1));
  await o.measure(bookings(passEvent, true, 1));
  const runs = { plain: [] as Measured[], pass: [] as Measured[] };
  for (const withPass of [false, true, true, false]) {
    runs[withPass ? 'pass' : 'plain'].push(await o.measure(bookings(withPass ? passEvent : plainEvent, withPass, half)));
  }
  const bookWithoutRoom = averaged(runs.plain);
  const bookWithPass = averaged(runs.pass);

  return {
    queued: crowd.length,
    joins,
    shuffleSeconds,
    polls,
    admission: { setting: ADMIT_PER_MINUTE, admitted, measuredPerMinute: perMinute, error: perMinute / ADMIT_PER_MINUTE - 1 },
    bookWithoutRoom,
    bookWithPass,
    passCost: 1 - bookWithPass.okPerSecond / bookWithoutRoom.okPerSecond,
    successes: { [plainEvent]: bookWithoutRoom.statuses['200'] ?? 0, [passEvent]: bookWithPass.statuses['200'] ?? 0 },
  };
}

export type QueueResults = Awaited<ReturnType<typeof runQueueScenario>>;

type Measured = Awaited<ReturnType<QueueScenarioOptions['measure']>>;

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0) / sxx;
}

/** Two runs as one: mean rates, the worse p99, answers summed. */
function averaged([a, b]: Measured[]): Measured {
  const statuses: Record<string, number> = { ...a!.statuses };
  for (const [code, count] of Object.entries(b!.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
  return { okPerSecond: (a!.okPerSecond + b!.okPerSecond) / 2, requestsPerSecond: (a!.requestsPerSecond + b!.requestsPerSecond) / 2, p99: Math.max(a!.p99, b!.p99), statuses };
}

export function renderQueueMarkdown(q: QueueResults): string {
  const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return [
    `\n### Waiting room (${n(q.queued)} queued buyers)\n`,
    '| run | per second | p99 ms | answers |',
    '| --- | ---: | ---: | --- |',
    `| joins (POST /events/{id}/queue, each buyer once) | ${n(q.joins.perSecond)} | ${n(q.joins.p99, 1)} | ${codes(q.joins.statuses)} |`,
    `| polls (GET /events/{id}/queue/me) | ${n(q.polls.perSecond)} | ${n(q.polls.p99, 1)} | ${codes(q.polls.statuses)} |`,
    `| POST /book, no room | ${n(q.bookWithoutRoom.okPerSecond)} | ${n(q.bookWithoutRoom.p99, 1)} | ${codes(q.bookWithoutRoom.statuses)} |`,
    `| POST /book with Queue-Pass | ${n(q.bookWithPass.okPerSecond)} | ${n(q.bookWithPass.p99, 1)} | ${codes(q.bookWithPass.statuses)} |`,
    '',
    `Shuffle of the pre-queue: ${n(q.shuffleSeconds, 2)} s. Admissions: ${n(q.admission.measuredPerMinute)}/min measured against ` +
      `${n(q.admission.setting)}/min set (error ${n(q.admission.error * 100, 2)}%). The pass check costs ${n(q.passCost * 100, 1)}% of POST /book's rate.`,
    '',
  ].join('\n');
}

const codes = (statuses: Record<string, number>) => Object.entries(statuses).map(([code, count]) => `${code}: ${count}`).join(', ');
