import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, setUpTestApp, testConfig, type TestApp } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, uniqueEmail } from './helpers/factories.js';
import { requestOnNewConnection } from './helpers/server-process.js';
import { setUpServerProcesses } from './helpers/server-processes.js';

/** The value of one series in Prometheus text, matched by name and a subset of its labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

const { t, owner } = setUpTestApp({ users: ['owner'] });

const scrape = async (app = t.app) => {
  const response = await app.inject({ url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response.body;
};

describe('GET /metrics', () => {
  it('when scraped, then it answers Prometheus text with the process metrics', async () => {
    const response = await t.app.inject({ url: '/metrics' });
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(response.body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('when requests are served, then latency is counted by route pattern, method and status, never by raw URL', async () => {
    await t.app.inject({ url: '/events/2000000001' });
    await t.app.inject({ url: '/events/2000000002' });
    await t.app.inject({ url: '/no/such/page' });
    const text = await scrape();
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/events/:id', method: 'GET', status_code: '404' })).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_count', { route: 'unmatched', method: 'GET', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/events/:id', le: '+Inf' })).toBe(2);
    expect(text).not.toContain('2000000001');
  });

  it('when an event sells out, then its bookings and sold-outs are counted under its id, with batch sizes and times', async () => {
    const event = await createEvent(t.app, owner, { total_tickets: 2 });
    const buyers = await Promise.all([1, 2, 3, 4].map(() => registerAndLogin(t.app)));
    const statuses: number[] = [];
    // One after another: each is a batch of one, and the third and fourth are refused.
    for (const buyer of buyers) statuses.push((await bookOverHttp(t.baseUrl, buyer.token, event.id)).status);
    expect(statuses).toEqual([200, 200, 400, 400]);

    const text = await scrape();
    const labels = { event_id: String(event.id) };
    expect(sample(text, 'bookfast_bookings_total', labels)).toBe(2);
    // The fourth may be refused from memory (sold-out mark) or by a batch: counted either way.
    expect(sample(text, 'bookfast_sold_out_total', labels)).toBe(2);
    expect(sample(text, 'bookfast_booking_batch_size_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'bookfast_booking_batch_size_bucket', { le: '1' })).toBe(sample(text, 'bookfast_booking_batch_size_count'));
    expect(sample(text, 'bookfast_booking_batch_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'bookfast_booking_queue_wait_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/book', method: 'POST', status_code: '200' })).toBe(2);
  });

  it('when the database is a PostgreSQL server, then the pool is measured; embedded, then there is no pool to show', async () => {
    const text = await scrape();
    if (t.testDb.url) {
      expect(sample(text, 'bookfast_db_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'bookfast_db_pool_idle_connections')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'bookfast_db_pool_waiting_requests')).toBe(0);
    } else {
      expect(text).not.toContain('bookfast_db_pool_connections');
    }
  });

  it('when two apps run in one process, then each counts only its own traffic', async () => {
    const other = await buildTestApp();
    try {
      const event = await createEvent(t.app, owner, { total_tickets: 5 });
      const buyer = await registerAndLogin(t.app);
      expect((await bookOverHttp(t.baseUrl, buyer.token, event.id)).status).toBe(200);
      expect(sample(await scrape(), 'bookfast_bookings_total', { event_id: String(event.id) })).toBe(1);
      expect(await scrape(other.app)).not.toContain('bookfast_bookings_total{');
    } finally {
      await other.close();
    }
  });

  it('when the Grafana dashboard queries a metric, then the app exports it', async () => {
    const dashboard = readFileSync(new URL('../ops/grafana/bookfast.json', import.meta.url), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b((?:bookfast|http|nodejs|process)_[a-z_0-9]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
    const text = await scrape();
    const missing = [...queried].filter((name) => !text.includes(`# TYPE ${name} `));
    // The pool exists only on a PostgreSQL server.
    expect(missing.filter((name) => t.testDb.url || !name.startsWith('bookfast_db_pool_'))).toEqual([]);
    expect(queried.size).toBeGreaterThan(10);
  });

  it('when the API is documented, then /metrics is left out of the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
  });
});

// Issue 12: per-event sales are business data, and a label per event is unbounded.
describe('when METRICS_TOKEN is set and METRICS_EVENT_LABELS bounds the event label', () => {
  let local: TestApp;
  const token = randomBytes(24).toString('hex');
  beforeAll(async () => {
    local = await buildTestApp({ METRICS_TOKEN: token, METRICS_EVENT_LABELS: '2' });
  });
  afterAll(() => local.close());

  it('then a scrape without the token, or with another, is 401, and with it 200', async () => {
    expect((await local.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await local.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}x` } })).statusCode).toBe(401);
    expect((await local.app.inject({ url: '/metrics', headers: { authorization: 'Bearer ' } })).statusCode).toBe(401);
    const ok = await local.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('process_cpu_user_seconds_total');
  });

  it('then only the most recently booked events keep their own label, the rest add up under "other", and the total stays exact', async () => {
    const organizer = await registerAndLogin(local.app);
    const buyer = await registerAndLogin(local.app);
    const events = [];
    for (let i = 0; i < 4; i++) events.push(await createEvent(local.app, organizer, { total_tickets: 10 }));
    // Event i gets i + 1 tickets; they are booked one event after another.
    for (const [i, event] of events.entries()) {
      for (let n = 0; n <= i; n++) expect((await bookOverHttp(local.baseUrl, buyer.token, event.id)).status).toBe(200);
    }
    const text = (await local.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })).body;
    const series = [...text.matchAll(/^bookfast_bookings_total\{event_id="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(series)).toEqual({ [String(events[2]!.id)]: 3, [String(events[3]!.id)]: 4, other: 3 });
  });

  it('then a short METRICS_TOKEN is refused at start-up', () => {
    expect(() => testConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 bytes/);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('when the server runs several worker processes', () => {
  const { servers: [server] } = setUpServerProcesses([{ WORKERS: '2' }]);

  const call = (method: string, path: string, body?: unknown, token?: string) => requestOnNewConnection(server.baseUrl, method, path, body, token);

  it('then every scrape, whichever worker answers it, counts the bookings of the whole cluster', async () => {
    const email = uniqueEmail('organizer');
    const password = 'correct horse battery';
    expect((await call('POST', '/register', { email, password })).status).toBe(200);
    const token = (JSON.parse((await call('POST', '/login', { username: email, password })).text) as { access_token: string }).access_token;
    const created = await call('POST', '/events', { event_name: 'Cluster', date: '2031-01-01T20:00:00Z', ticket_price: '5.00', total_tickets: 100 }, token);
    const event = JSON.parse(created.text) as { id: number };

    const booked = [];
    for (let i = 0; i < 10; i++) booked.push((await call('POST', '/book', { event_id: event.id }, token)).status);
    expect(booked).toEqual(Array(10).fill(200));

    for (let i = 0; i < 4; i++) {
      const text = (await call('GET', '/metrics')).text;
      expect(sample(text, 'bookfast_bookings_total', { event_id: String(event.id) })).toBe(10);
    }
  });
});
