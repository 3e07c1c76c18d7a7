// `npm run bench -- --through pgbouncer`: POST /book on one hot event three ways in one run, each on its own
// event of the same throwaway database: (1) one server straight at PostgreSQL, (2) the same server through
// PgBouncer in transaction mode (unnamed statements), (3) `--hosts` servers on 127.0.0.2.. through PgBouncer
// behind HAProxy. The same buyers, connections and duration for all three. See README "Running on more than
// one machine".
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { startHaproxy } from '../test/helpers/haproxy.js';
import { startPgBouncer } from '../test/helpers/pgbouncer.js';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { cpuSeconds } from './cpu-seconds.js';

export interface ThroughOptions {
  dbUrl: string;
  serverUrl: string;
  benchDb: string;
  connections: number;
  duration: number;
  workers: number;
  hosts: number;
  buyers: number;
  port: number;
  log(line: string): void;
}

export async function benchThroughPooler(options: ThroughOptions) {
  const { dbUrl, connections, duration, log } = options;
  // Everything started here is stopped in reverse order, once: at the end, on an error, or on SIGINT/SIGTERM
  // (a bare SIGTERM to the bench would otherwise leave the servers, PgBouncer and HAProxy running).
  const stops: (() => Promise<unknown>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`while stopping: ${String(error)}`));
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the servers, PgBouncer and HAProxy (the throwaway database ${options.benchDb} stays: drop it by hand)`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  const admin = new pg.Client({ connectionString: dbUrl });
  try {
    await admin.connect();
    stops.push(() => admin.end());
    // Behind PgBouncer the timeouts must be the role's defaults (BookFast refuses to start otherwise).
    for (const [name, value] of [['statement_timeout', '15s'], ['lock_timeout', '10s'], ['idle_in_transaction_session_timeout', '30s']]) {
      await admin.query(`ALTER ROLE CURRENT_USER IN DATABASE ${options.benchDb} SET ${name} = '${value}'`);
    }
    const bouncer = await startPgBouncer(options.serverUrl, { poolSize: 20 });
    stops.push(() => bouncer.stop());
    const common = { WORKERS: String(options.workers), LOG_LEVEL: 'warn', RATE_LIMITS: 'off', BCRYPT_COST: '10', SECRET_KEY: randomBytes(32).toString('hex') };
    const pooled = { ...common, DATABASE_URL: bouncer.pooled(dbUrl), DATABASE_POOLER: 'pgbouncer', DATABASE_DIRECT_URL: dbUrl };
    const servers: ServerProcess[] = [];
    const start = async (env: Record<string, string>, host: string, port: number) => {
      const server = await startServerProcess({ ...env, HOST: host, PORT: String(port) }, { built: true, output: 'inherit' });
      servers.push(server);
      stops.push(() => server.stop());
      return server.baseUrl;
    };
    const direct = await start({ ...common, DATABASE_URL: dbUrl }, '127.0.0.1', options.port);
    const throughPooler = await start(pooled, '127.0.0.1', options.port + 1);
    const hostUrls = [];
    for (let i = 0; i < options.hosts; i++) hostUrls.push(await start({ ...pooled, WORKERS: '1' }, `127.0.0.${i + 2}`, options.port + 2));
    const balancer = await startHaproxy(hostUrls);
    stops.push(() => balancer.stop());

    log(`registering ${options.buyers} buyers`);
    const tokens = await makeBuyers(direct, options.buyers);
    const runs = [];
    for (const [name, url, pids] of [
      ['direct', direct, [servers[0]!.child.pid!]],
      ['PgBouncer', throughPooler, [servers[1]!.child.pid!]],
      [`HAProxy + ${options.hosts} hosts + PgBouncer`, balancer.baseUrl, servers.slice(2).map((s) => s.child.pid!)],
    ] as const) {
      const eventId = await createEvent(url, tokens[0]!);
      log(`POST /book ${name}: ${connections} connections for ${duration} s (after 2 s of warm-up)`);
      await autocannon(bookRequests(url, tokens, eventId, { connections, duration: 2 }));
      const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const result = await autocannon(bookRequests(url, tokens, eventId, { connections, duration, timeout: 30 }));
      const ok = result.statusCodeStats?.['200']?.count ?? 0;
      const { rows } = await admin.query<{ sold: number; booked: number }>(
        `SELECT tickets_sold AS sold, (SELECT count(*)::int FROM tickets WHERE event_id = $1 AND status = 'booked') AS booked FROM events WHERE id = $1`,
        [eventId],
      );
      runs.push({
        name,
        okPerSecond: ok / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
        serverCpuSeconds: pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore,
        soldEqualsBooked: rows[0]!.sold === rows[0]!.booked,
      });
    }
    return runs;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

export function renderThroughPooler(runs: Awaited<ReturnType<typeof benchThroughPooler>>): string {
  const rows = runs.map(
    (run) =>
      `| ${run.name} | ${run.okPerSecond.toFixed(0)} | ${run.p50} | ${run.p99} | ${run.non2xx} | ${run.errors} | ${run.serverCpuSeconds.toFixed(1)} | ${run.soldEqualsBooked ? 'yes' : 'NO'} |`,
  );
  return [
    '| POST /book | bookings/s | p50 ms | p99 ms | non-2xx | errors | server CPU s | sold = booked rows |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function bookRequests(url: string, tokens: string[], eventId: number, options: Partial<autocannon.Options>): autocannon.Options {
  const body = JSON.stringify({ event_id: eventId });
  return {
    url,
    ...options,
    requests: tokens.map((token) => ({ method: 'POST' as const, path: '/book', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } })),
  };
}

async function createEvent(baseUrl: string, token: string): Promise<number> {
  const response = await fetch(`${baseUrl}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_name: 'Hot event', date: '2030-01-01T20:00:00Z', ticket_price: '49.90', total_tickets: 1_000_000 }),
  });
  return ((await response.json()) as { id: number }).id;
}

async function makeBuyers(baseUrl: string, count: number): Promise<string[]> {
  const headers = { 'content-type': 'application/json' };
  const one = async (i: number) => {
    const body = { email: `buyer${i}-${randomBytes(3).toString('hex')}@bench.example`, password: 'bench-password-123' };
    await fetch(`${baseUrl}/register`, { method: 'POST', headers, body: JSON.stringify(body) });
    const login = await fetch(`${baseUrl}/login`, { method: 'POST', headers, body: JSON.stringify({ username: body.email, password: body.password }) });
    return ((await login.json()) as { access_token: string }).access_token;
  };
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 16) tokens.push(...(await Promise.all(Array.from({ length: Math.min(16, count - i) }, (_, j) => one(i + j)))));
  return tokens;
}
