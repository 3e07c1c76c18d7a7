// `npm run bench -- --through ha`: what failover costs. (c) POST /book on one event and (d) POST /orders
// (quantity 1..4) three ways in one run, the same buyers count, connections and duration for each: (1) one
// server process straight at the single PostgreSQL server of DATABASE_URL, (2) the same through the HA
// cluster of ops/ha (HAProxy's write port, Patroni, synchronous_mode: every commit waits for a standby),
// (3) the cluster again with synchronous_mode off (asynchronous streaming), so the table tells the cost of
// the synchronous commit apart from the cost of the extra hop and the cluster's own configuration.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { startHaCluster } from '../test/helpers/ha-cluster.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { bookRequests, makeBuyers, orderRequests } from './requests.js';
import { eventCreator, ticketsSold } from './server-calls.js';

export interface ThroughHaOptions {
  dbUrl: string;
  connections: number;
  duration: number;
  workers: number;
  buyers: number;
  port: number;
  log(line: string): void;
}

interface Run {
  name: string;
  /** (c): bookings/s; (d): seats/s through POST /orders. */
  bookPerSecond: number;
  bookP50: number;
  bookP99: number;
  orderSeatsPerSecond: number;
  orderP99: number;
  non2xx: number;
  errors: number;
  soldEqualsBooked: boolean;
}

export async function benchThroughHa(options: ThroughHaOptions): Promise<Run[]> {
  const { connections, duration, log } = options;
  log('starting the HA cluster (ops/ha/start.sh)');
  const cluster = await startHaCluster();
  const stops: (() => Promise<unknown>)[] = [() => cluster.stop()];
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the servers and the HA cluster`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log(`while stopping: ${String(error)}`));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await withClient(cluster.writeUrl('postgres'), (admin) => admin.query('CREATE DATABASE bookfast'));
    const haUrl = cluster.writeUrl('bookfast');
    const common = { WORKERS: String(options.workers), LOG_LEVEL: 'warn', RATE_LIMITS: 'off', BCRYPT_COST: '10', SECRET_KEY: randomBytes(32).toString('hex') };
    const start = async (databaseUrl: string, port: number) => {
      const server = await startServerProcess({ ...common, DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port) }, { built: true, output: 'inherit' });
      stops.push(() => server.stop());
      return server.baseUrl;
    };
    const single = await start(options.dbUrl, options.port);
    const ha = await start(haUrl, options.port + 1);

    const runs: Run[] = [];
    const measure = async (name: string, baseUrl: string, databaseUrl: string) => {
      log(`${name}: registering ${options.buyers} buyers`);
      const tokens = await makeBuyers(baseUrl, options.buyers);
      const createEvent = eventCreator(baseUrl, tokens[0]!);
      const hot = await createEvent('Hot event (c)', 1_000_000);
      log(`${name}: (c) POST /book, ${connections} connections for ${duration} s (after 2 s of warm-up)`);
      await autocannon(bookRequests(baseUrl, tokens, hot, { connections, duration: 2 }));
      const book = await autocannon(bookRequests(baseUrl, tokens, hot, { connections, duration, timeout: 30 }));
      const mixed = await createEvent('Mixed quantities (d)', 1_000_000);
      log(`${name}: (d) POST /orders, quantity 1..4, ${connections} connections for ${duration} s (after 2 s of warm-up)`);
      await autocannon(orderRequests(baseUrl, tokens, mixed, { connections, duration: 2 }));
      const seatsBefore = await ticketsSold(baseUrl, mixed);
      const order = await autocannon(orderRequests(baseUrl, tokens, mixed, { connections, duration, timeout: 30 }));
      const seats = (await ticketsSold(baseUrl, mixed)) - seatsBefore;
      const soldEqualsBooked = await withClient(databaseUrl, async (db) => {
        const { rows } = await db.query<{ ok: boolean }>(
          `SELECT bool_and(tickets_sold = (SELECT count(*) FROM tickets t WHERE t.event_id = e.id AND t.status = 'booked')) AS ok
           FROM events e WHERE id = ANY($1::int[])`,
          [[hot, mixed]],
        );
        return rows[0]!.ok;
      });
      runs.push({
        name,
        bookPerSecond: (book.statusCodeStats?.['200']?.count ?? 0) / book.duration,
        bookP50: book.latency.p50,
        bookP99: book.latency.p99,
        orderSeatsPerSecond: seats / order.duration,
        orderP99: order.latency.p99,
        non2xx: book.non2xx + order.non2xx,
        errors: book.errors + order.errors,
        soldEqualsBooked,
      });
    };

    await measure('single server', single, options.dbUrl);
    await measure('HA cluster, synchronous_mode', ha, haUrl);
    await cluster.setSynchronous(false);
    await measure('HA cluster, asynchronous', ha, haUrl);
    return runs;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

export function renderThroughHa(runs: Run[]): string {
  const base = runs[0]!;
  const rows = runs.map(
    (run) =>
      `| ${run.name} | ${run.bookPerSecond.toFixed(0)} | ${(run.bookPerSecond / base.bookPerSecond).toFixed(2)} | ${run.bookP50} | ${run.bookP99} | ` +
      `${run.orderSeatsPerSecond.toFixed(0)} | ${(run.orderSeatsPerSecond / base.orderSeatsPerSecond).toFixed(2)} | ${run.orderP99} | ` +
      `${run.non2xx} | ${run.errors} | ${run.soldEqualsBooked ? 'yes' : 'NO'} |`,
  );
  return [
    '| database | (c) bookings/s | × single | p50 ms | p99 ms | (d) seats/s | × single | p99 ms | non-2xx | errors | sold = booked rows |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
