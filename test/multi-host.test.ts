import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { queryRows } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { bookOverHttp, createEvent, registerAndLogin, type TestUser } from './helpers/factories.js';
import { haproxyMissing, startHaproxy, type Haproxy } from './helpers/haproxy.js';
import { openLive } from './helpers/live.js';
import { postOverHttp } from './helpers/orders.js';
import { pgBouncerMissing, startPgBouncer, type PgBouncer } from './helpers/pgbouncer.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { tally } from './helpers/tally.js';
import { createTestDatabase, findInventoryDrift, type TestDatabase } from './helpers/test-db.js';

// Issue 15: three BookFast hosts on their own loopback addresses behind HAProxy (round robin, health checks on
// /health/ready), through PgBouncer in transaction mode, sharing Redis; every check goes through the
// balancer unless it needs one host in particular.
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const TOKEN_VERSION_CACHE_MS = 1_000;
const BOOKINGS_PER_MINUTE = 20;
const LOGINS_PER_MINUTE = 5;
const missing = pgBouncerMissing() ?? haproxyMissing() ?? (process.env.TEST_REDIS_URL ? undefined : 'TEST_REDIS_URL is unset');
if (missing) console.log(`multi-host.test.ts skipped: ${missing}`);
const trustProxyKnown = 'trustProxy' in testConfig({ TRUST_PROXY: '127.0.0.1' });
if (!missing && !trustProxyKnown) console.log('multi-host.test.ts: the per-address login limit check is skipped: no TRUST_PROXY setting yet (issue 12)');

describe.skipIf(missing)('when three hosts serve behind HAProxy through PgBouncer and Redis', () => {
  let testDb: TestDatabase;
  let bouncer: PgBouncer;
  let hosts: ServerProcess[] = [];
  let balancer: Haproxy;
  // In-process app on the same database and key, with no limits: makes users and tokens without spending
  // the hosts' per-address limits (those are under test).
  let setup: FastifyInstance;
  let owner: TestUser;
  // 60 buyers for the bursts (registering costs a bcrypt hash each): 5 bookings each per burst, far below the limit.
  let crowd: TestUser[];
  const secretKey = randomBytes(32).toString('hex');

  const buyers = (count: number) => Promise.all(Array.from({ length: count }, () => registerAndLogin(setup)));
  const lb = () => balancer.baseUrl;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const name = new URL(testDb.url!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: testDb.url! });
    await admin.connect();
    // Behind PgBouncer the timeouts are the role's defaults (README "Running on more than one machine").
    await admin.query(
      `ALTER ROLE CURRENT_USER IN DATABASE ${name} SET statement_timeout = '15s';` +
        `ALTER ROLE CURRENT_USER IN DATABASE ${name} SET lock_timeout = '10s';` +
        `ALTER ROLE CURRENT_USER IN DATABASE ${name} SET idle_in_transaction_session_timeout = '30s';` +
        // Redis is shared with other test files: user ids far from theirs keep the per-buyer counters apart.
        `ALTER SEQUENCE users_id_seq RESTART WITH ${1_000_000 + Math.floor(Math.random() * 1_000_000_000)}`,
    );
    await admin.end();
    bouncer = await startPgBouncer(process.env.DATABASE_URL!, { poolSize: 6 });
    const env = {
      DATABASE_URL: bouncer.pooled(testDb.url!),
      DATABASE_POOLER: 'pgbouncer',
      DATABASE_DIRECT_URL: testDb.url!,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      SECRET_KEY: secretKey,
      // The balancer is the only proxy: the hosts take the client's address from its X-Forwarded-For.
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMITS: 'on',
      RATE_LIMIT_BOOKINGS_PER_MINUTE: String(BOOKINGS_PER_MINUTE),
      RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGINS_PER_MINUTE),
      TOKEN_VERSION_CACHE_MS: String(TOKEN_VERSION_CACHE_MS),
      DB_POOL_SIZE: '6',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bookfast-hosts-')),
    };
    hosts = await Promise.all(HOSTS.map((host) => startServerProcess({ ...env, HOST: host })));
    balancer = await startHaproxy(hosts.map((host) => host.baseUrl));
    setup = await buildApp({ config: testConfig({ SECRET_KEY: secretKey }), database: testDb.database, logger: false });
    owner = await registerAndLogin(setup);
    crowd = await buyers(60);
  }, 240_000);

  afterAll(async () => {
    await balancer?.stop();
    await Promise.all(hosts.map((host) => host.stop()));
    await setup?.close();
    await bouncer?.stop();
    await testDb?.drop();
  }, 60_000);

  it('then 300 buyers get exactly the 100 seats, and every 200 has its committed ticket', async () => {
    const event = await createEvent(setup, owner, { total_tickets: 100 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => bookOverHttp(lb(), crowd[i % crowd.length]!.token, event.id)));
    expect(tally(results.map((r) => r.status))).toEqual({ 200: 100, 400: 200 });
    const ids = results.filter((r) => r.status === 200).map((r) => r.body.id as number);
    const [row] = await queryRows<{ n: number }>(
      testDb.database.db,
      sql`SELECT count(*)::int AS n FROM tickets WHERE id = ANY(${`{${ids.join(',')}}`}::int[]) AND status = 'booked' AND event_id = ${event.id}`,
    );
    expect(row!.n).toBe(100);
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
  });

  it('then a hold placed on one host is confirmed and another cancelled on the next hosts', async () => {
    const event = await createEvent(setup, owner, { total_tickets: 10 });
    const [buyer] = await buyers(1);
    const kept = await postOverHttp(lb(), '/orders', buyer!.token, { event_id: event.id, quantity: 3, hold: true });
    const dropped = await postOverHttp(lb(), '/orders', buyer!.token, { event_id: event.id, quantity: 2, hold: true });
    expect([kept.status, dropped.status]).toEqual([200, 200]);
    expect((await postOverHttp(lb(), `/orders/${kept.body.id as number}/confirm`, buyer!.token)).status).toBe(200);
    expect((await postOverHttp(lb(), `/orders/${dropped.body.id as number}/cancel`, buyer!.token)).status).toBe(200);
    const after = (await (await fetch(`${lb()}/events/${event.id}`)).json()) as { tickets_sold: number; tickets_available: number };
    expect(after).toMatchObject({ tickets_sold: 3, tickets_available: 7 });
  });

  it('then a keyed booking retried through the balancer lands on the other hosts and is replayed, one ticket', async () => {
    const event = await createEvent(setup, owner, { total_tickets: 10 });
    const [buyer] = await buyers(1);
    const key = { 'idempotency-key': `mh-${randomBytes(6).toString('hex')}` };
    // Round robin: three requests in a row reach three different hosts.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await postOverHttp(lb(), '/book', buyer!.token, { event_id: event.id }, key));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(answers[2]!.body).toEqual(answers[0]!.body);
    expect(answers.slice(1).map((a) => a.headers.get('idempotent-replayed'))).toEqual(['true', 'true']);
    const [row] = await queryRows<{ n: number }>(
      testDb.database.db,
      sql`SELECT count(*)::int AS n FROM tickets WHERE event_id = ${event.id} AND user_id = ${buyer!.id}`,
    );
    expect(row!.n).toBe(1);
  });

  it(`then a logout on one host is refused by the others within TOKEN_VERSION_CACHE_MS (${TOKEN_VERSION_CACHE_MS} ms)`, async () => {
    const [buyer] = await buyers(1);
    const tickets = (host: ServerProcess) => fetch(`${host.baseUrl}/tickets`, { headers: buyer!.auth });
    // Every host has the token's version cached.
    for (const host of hosts) expect((await tickets(host)).status).toBe(200);
    const loggedOut = await fetch(`${hosts[0]!.baseUrl}/logout`, { method: 'POST', headers: buyer!.auth });
    expect(loggedOut.status).toBeLessThan(300);
    const since = Date.now();
    expect((await tickets(hosts[0]!)).status).toBe(401);
    for (const host of hosts.slice(1)) {
      while ((await tickets(host)).status === 200) {
        // The documented bound, with a second of slack for this shared machine.
        expect(Date.now() - since).toBeLessThan(TOKEN_VERSION_CACHE_MS + 1_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await tickets(host)).status).toBe(401);
    }
  });

  it(`then a buyer's ${BOOKINGS_PER_MINUTE} bookings a minute are counted once across the three hosts (Redis)`, async () => {
    const event = await createEvent(setup, owner, { total_tickets: 100 });
    const [buyer] = await buyers(1);
    const statuses: number[] = [];
    for (let i = 0; i < 3 * BOOKINGS_PER_MINUTE; i++) statuses.push((await bookOverHttp(lb(), buyer!.token, event.id)).status);
    expect(tally(statuses)).toEqual({ 200: BOOKINGS_PER_MINUTE, 429: 2 * BOOKINGS_PER_MINUTE });
  });

  // Needs TRUST_PROXY (issue 12, another branch): without it every host sees HAProxy's address, one key for
  // every client. Runs once the configuration knows the setting.
  it.skipIf(!trustProxyKnown)(`then one client's ${LOGINS_PER_MINUTE} logins a minute are counted once across hosts, and other clients keep theirs`, async () => {
    // Two clients on addresses of their own (Redis is shared with other tests, which log in from 127.0.0.1).
    const client = () => new Agent({ localAddress: `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}` });
    const [limited, other] = [client(), client()];
    const login = (dispatcher: Agent) =>
      undiciFetch(`${lb()}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: owner.email, password: 'correct horse battery' }),
        dispatcher,
      }).then((response) => response.status);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3 * LOGINS_PER_MINUTE; i++) statuses.push(await login(limited));
      expect(tally(statuses)).toEqual({ 200: LOGINS_PER_MINUTE, 429: 2 * LOGINS_PER_MINUTE });
      expect(await login(other)).toBe(200);
    } finally {
      await Promise.all([limited.close(), other.close()]);
    }
  });

  it('then a booking on one host reaches live streams on every host', async () => {
    const event = await createEvent(setup, owner, { total_tickets: 5 });
    const [buyer] = await buyers(1);
    const streams = await Promise.all(hosts.map((host) => openLive(host.baseUrl, event.id)));
    try {
      for (const stream of streams) expect((await stream.next()).tickets_available).toBe(5);
      expect((await bookOverHttp(hosts[0]!.baseUrl, buyer!.token, event.id)).status).toBe(200);
      for (const stream of streams) {
        let seats = await stream.next();
        while (seats.tickets_available !== 4) seats = await stream.next();
        expect(seats.tickets_sold).toBe(1);
      }
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  // Last: it kills a host.
  it('then SIGKILL of one host mid-burst loses no acknowledged booking, the balancer routes around it, and nothing drifts', async () => {
    const event = await createEvent(setup, owner, { total_tickets: 1000 });
    const results: { status: number; body: Record<string, unknown> }[] = [];
    let next = 0;
    const victim = hosts[1]!;
    // 20 buyers at a time; the host dies once a third of the 300 bookings are answered.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 300) {
          const i = next++;
          if (i === 100) victim.child.kill('SIGKILL');
          // Status 0: HAProxy closed the connection (a request sent on a reused connection to the dead host).
          results.push(await bookOverHttp(lb(), crowd[i % crowd.length]!.token, event.id).catch(() => ({ status: 0, body: {} })));
        }
      }),
    );
    const statuses = results.map((r) => r.status);
    // In flight on the killed host: a 502 or a closed connection, unanswered either way; never a 500 or a 4xx.
    expect(statuses.filter((status) => ![0, 200, 502].includes(status)), JSON.stringify(tally(statuses))).toEqual([]);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(200);
    const acked = results.filter((r) => r.status === 200).map((r) => r.body.id as number);
    const [row] = await queryRows<{ acked: number; booked: number }>(
      testDb.database.db,
      sql`SELECT count(*) FILTER (WHERE id = ANY(${`{${acked.join(',')}}`}::int[]))::int AS acked, count(*)::int AS booked
          FROM tickets WHERE event_id = ${event.id} AND status = 'booked'`,
    );
    expect(row!.acked).toBe(acked.length);
    // After the burst the survivors take everything.
    const after = await Promise.all(crowd.slice(0, 30).map((buyer) => bookOverHttp(lb(), buyer.token, event.id)));
    expect(tally(after.map((r) => r.status))).toEqual({ 200: 30 });
    expect(await findInventoryDrift(testDb.database)).toEqual([]);
    hosts = hosts.filter((host) => host !== victim);
  });
});
