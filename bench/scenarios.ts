// The flash-sale scenarios of `npm run bench`, in the order they run, over HTTP against the started server.
// runScenarios returns what each one measured and which events it booked on; results.ts then checks the rows.
import autocannon from 'autocannon';
import type pg from 'pg';
import { measureClosedLoop } from './closed-loop.js';
import { benchCpuSince } from './cpu-seconds.js';
import { measure, measureOpenLoop, type Measured } from './measure.js';
import { runOldDesignInNode, runOldDesignWithPgbench } from './old-design.js';
import { crowdTokens } from './crowd.js';
import { runQueueScenario } from './queue.js';
import { bookRequests, crowdBookRequests, keyedBookRequests, makeBuyers, orderRequests, spreadBookRequests } from './requests.js';
import { batchTotals, eventCreator, ticketsSold, watchSellOut } from './server-calls.js';
import { runWebhookScenario } from './webhooks.js';

/** The scenarios --only can pick and the --skip-* flags leave out, by the names the command line uses. */
export const SCENARIO_NAMES = ['b', 'c', 'c-key', 'c-limit', 'c-many', 'open-loop', 'sell-out', 'd', 'webhooks', 'queue'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioSettings {
  baseUrl: string;
  connections: number;
  duration: number;
  /** Seats of each throughput event. */
  capacity: number;
  workers: number;
  buyers: number;
  embedded: boolean;
  /** The server's SECRET_KEY: the queue scenario signs its crowd's tokens with it. */
  secretKey: string;
  /** (c-many) spreads POST /book over this many events. */
  manyEvents: number;
  selloutCapacity: number;
  selloutAttempts: number;
  queueBuyers: number;
  /** --only: run just these (and not (a)); undefined runs them all. */
  only: ScenarioName[] | undefined;
  /** Left out by --skip-open-loop, --skip-webhooks, --skip-queue. */
  skip: ScenarioName[];
  log: (line: string) => void;
}

/** The PostgreSQL server's database: (a) and the waiting room need it, so neither runs on the embedded one. */
export interface ServerDatabase {
  db: pg.Client;
  dbUrl: string;
  maxConnections: number;
}

// (c-limit)'s crowd: 100 buyers per connection at 256; at about 10,000 bookings/s for 12 s each books about 5.
const LIMITED_CROWD = 25_600;
const LIMITED_MAX_PER_USER = 10;

export type ScenarioRuns = Awaited<ReturnType<typeof runScenarios>>;

/** Runs every scenario over HTTP; the rows are checked afterwards (when the embedded server has let go of them). */
export async function runScenarios(s: ScenarioSettings, serverPid: number, server: ServerDatabase | undefined) {
  const { baseUrl, connections, duration, capacity, log } = s;
  const runs = (name: ScenarioName) => (s.only?.includes(name) ?? true) && !s.skip.includes(name);
  const when = async <T>(name: ScenarioName, run: () => Promise<T>) => (runs(name) ? run() : undefined);
  log(`registering and logging in ${s.buyers} buyers`);
  const tokens = await makeBuyers(baseUrl, s.buyers);
  const createEvent = eventCreator(baseUrl, tokens[0]!);
  // A fresh event's own warm-up (2 s, not counted, its seats counted for the invariant), then the measured run.
  const warmedRun = async (eventIds: number[], requests: (options: Partial<autocannon.Options>) => autocannon.Options, line: string) => {
    await autocannon(requests({ connections, duration: 2 }));
    const warmup = (await Promise.all(eventIds.map((id) => ticketsSold(baseUrl, id)))).reduce((sum, sold) => sum + sold, 0);
    log(line);
    return { warmup, ...(await withBatchSize(() => measure(serverPid, requests({ connections, duration })))) };
  };
  // The run, and how many buyers each booking statement carried meanwhile (the server's batch metrics).
  const withBatchSize = async (run: () => Promise<Measured>) => {
    const before = await batchTotals(baseUrl);
    const measured = await run();
    const after = await batchTotals(baseUrl);
    return { run: measured, meanBatchSize: (after.buyers - before.buyers) / Math.max(1, after.batches - before.batches) };
  };

  const hotEvent = await createEvent('Hot event (POST /book)', capacity);
  // (a) needs a PostgreSQL server to send the old transaction to: not run on the embedded database, nor with --only.
  const oldEvent = server && s.only === undefined ? await createEvent('Old design (pure SQL)', capacity) : undefined;
  const oldDesign = server && oldEvent ? await runOldDesign(s, server, oldEvent) : undefined;

  // Whatever --only picked, so that every run measures a server warmed the same way.
  log('warming up (2 s of each route, not counted): the JIT compiles the hot paths first');
  await autocannon({ url: `${baseUrl}/health`, connections, duration: 2 });
  await autocannon(bookRequests(baseUrl, tokens, hotEvent, { connections, duration: 2 }));
  const warmupBookings = await ticketsSold(baseUrl, hotEvent);

  const health = await when('b', async () => {
    log(`(b) GET /health with ${connections} connections for ${duration} s`);
    return measure(serverPid, { url: `${baseUrl}/health`, connections, duration });
  });

  const book = await when('c', async () => {
    log(`(c) POST /book on one event with ${connections} connections for ${duration} s`);
    const { run, meanBatchSize } = await withBatchSize(() => measure(serverPid, bookRequests(baseUrl, tokens, hotEvent, { connections, duration })));
    return { ...run, meanBatchSize };
  });

  const openLoop: (Awaited<ReturnType<typeof measureOpenLoop>> & { share: number; rate: number })[] = [];
  // Its rates are shares of (c)'s, so --only refuses open-loop without c. It runs right after (c), on the same
  // event and database as (c) measured them: the later scenarios grow the tables and the WAL (PostgreSQL's
  // checkpoints then run all along), and at their end 80% of (c)'s rate was at times above what the server
  // could still do (latencies of 200 to 430 ms and rising: a queue), which is not the 80% load the bar is about.
  if (runs('open-loop') && book) {
    for (const share of [0.5, 0.8]) {
      const rate = Math.max(1, Math.round(book.requestsPerSecond * share));
      log(`open loop: POST /book at a fixed ${rate} requests/s (${share * 100}% of the maximum) for ${duration} s`);
      openLoop.push({ share, rate, ...(await measureOpenLoop({ serverPid, url: baseUrl, connections, seconds: duration, tokens, eventId: hotEvent, rate })) });
    }
  }

  // (c-key) the same with a new Idempotency-Key on every request, on its own event: the cost of recording the
  // key in the batch statement, to set against (c).
  const keyed = await when('c-key', async () => {
    const eventId = await createEvent('Hot event (POST /book with Idempotency-Key)', capacity);
    const line = `(c-key) POST /book with an Idempotency-Key per request, one event, ${connections} connections for ${duration} s`;
    return { eventId, ...(await warmedRun([eventId], (options) => keyedBookRequests(baseUrl, tokens, eventId, options), line)) };
  });

  // (c-limit) the same on an event with a max_per_user: the counted booking batch, which counts each
  // buyer's seats after taking the event's lock. On PostgreSQL, as a limited sale has it: a crowd of
  // LIMITED_CROWD buyers (each connection its own share), who book a few seats each, below the limit; and,
  // to set it against, (c-crowd): the same crowd on an event without a limit (what a crowd costs on its own,
  // e.g. each buyer's first token check). The embedded run has only the registered buyers, a limit they
  // never reach, and (c) to set it against.
  const crowd = runs('c-limit') && server ? await crowdTokens(server.db, s.secretKey, LIMITED_CROWD, 'limited') : undefined;
  const crowdRun = async (label: string, limit?: number) => {
    const eventId = await createEvent(`Hot event (POST /book, ${label})`, capacity, limit === undefined ? {} : { max_per_user: limit });
    const buyers = crowd?.length ?? tokens.length;
    const line = `${label} POST /book${limit === undefined ? '' : ` on an event with max_per_user ${limit}`}, ${buyers} buyers, ${connections} connections for ${duration} s`;
    const requests = (options: Partial<autocannon.Options>) =>
      crowd ? crowdBookRequests(baseUrl, crowd, eventId, { ...options, connections }) : bookRequests(baseUrl, tokens, eventId, options);
    return { eventId, maxPerUser: limit, buyers, ...(await warmedRun([eventId], requests, line)) };
  };
  const crowded = crowd ? await crowdRun('(c-crowd)') : undefined;
  const limited = await when('c-limit', () => crowdRun('(c-limit)', crowd ? LIMITED_MAX_PER_USER : 1_000_000));

  // (c-many) the same spread over many events, the capacity model's other case (README, "Running on more than
  // one machine"): each event has its own batches, so they are smaller and there are more statements.
  let many: { eventIds: number[]; warmup: number; run: Measured; meanBatchSize: number } | undefined;
  if (runs('c-many') && s.manyEvents > 0) {
    const eventIds: number[] = [];
    for (let i = 0; i < s.manyEvents; i++) eventIds.push(await createEvent(`Many events #${i + 1}`, capacity));
    const line = `(c-many) POST /book spread over ${eventIds.length} events, ${connections} connections for ${duration} s`;
    many = { eventIds, ...(await warmedRun(eventIds, (options) => spreadBookRequests(baseUrl, tokens, eventIds, options), line)) };
  }

  const sellout = await when('sell-out', () => sellOut(s, serverPid, tokens, createEvent));

  // (d) several seats per request: POST /orders with quantity 1, 2, 3, 4 rotating (immediate orders, one
  // transaction each), on its own event. Seats/s is the figure to set against (c)'s tickets/s.
  const orders = await when('d', async () => {
    const eventId = await createEvent('Mixed quantities (POST /orders)', capacity);
    const line = `(d) POST /orders, quantity 1..4 rotating, on one event with ${connections} connections for ${duration} s`;
    const { warmup, run } = await warmedRun([eventId], (options) => orderRequests(baseUrl, tokens, eventId, options), line);
    return { eventId, run, seats: (await ticketsSold(baseUrl, eventId)) - warmup };
  });

  const webhooks = await when('webhooks', () =>
    runWebhookScenario({
      baseUrl,
      duration,
      ownerToken: tokens[0]!,
      createEvent: (name) => createEvent(name, capacity),
      bookRequests: (eventId, options) => bookRequests(baseUrl, tokens, eventId, { connections, ...options }),
      measure: (options) => measure(serverPid, options),
      warmUp: (options) => autocannon(options),
      ticketsSold: (eventId) => ticketsSold(baseUrl, eventId),
      log,
    }),
  );

  // Waiting room (issue 14): joins, polls, admission rate, POST /book with a pass against no room. It
  // inserts its crowd of accounts directly, so it needs the PostgreSQL server.
  const runQueue = server !== undefined && runs('queue');
  if (runQueue) log(`waiting room: ${s.queueBuyers} buyers join, then poll for ${duration} s; POST /book with a pass vs no room`);
  const queue = runQueue
    ? await runQueueScenario({
        baseUrl,
        db: server.db,
        secretKey: s.secretKey,
        connections,
        duration,
        queued: s.queueBuyers,
        buyerTokens: tokens,
        ownerToken: tokens[0]!,
        measure: (options) => measure(serverPid, options),
      })
    : undefined;

  return { buyers: tokens.length, hotEvent, warmupBookings, oldEvent, oldDesign, health, book, keyed, crowded, limited, many, openLoop, sellout, orders, webhooks, queue };
}

// (a) the old design's transaction, straight at PostgreSQL; connections are capped by max_connections.
async function runOldDesign(s: ScenarioSettings, { db, dbUrl, maxConnections }: ServerDatabase, oldEvent: number) {
  const { rows: owner } = await db.query<{ id: number }>('SELECT id FROM users ORDER BY id LIMIT 1');
  const oldClients = Math.max(1, Math.min(s.connections, maxConnections - s.workers * 8 - 10));
  s.log(`(a) old design: BEGIN; SELECT FOR UPDATE; UPDATE; INSERT; COMMIT with ${oldClients} clients for ${s.duration} s`);
  const oldCpu = process.cpuUsage();
  const old =
    runOldDesignWithPgbench(dbUrl, oldEvent, owner[0]!.id, oldClients, s.duration) ??
    (await runOldDesignInNode(dbUrl, oldEvent, owner[0]!.id, oldClients, s.duration));
  return { ...old, benchCpuSeconds: benchCpuSince(oldCpu) };
}

// A small event sold out by `selloutAttempts` requests; sellOutSeconds from the first request to the last seat gone.
async function sellOut(s: ScenarioSettings, serverPid: number, tokens: string[], createEvent: ReturnType<typeof eventCreator>) {
  const eventId = await createEvent('Small event (sell-out)', s.selloutCapacity);
  s.log(`sell-out: ${s.selloutAttempts} attempts at ${s.selloutCapacity} seats`);
  const soldOutAt = watchSellOut(s.baseUrl, eventId, s.selloutCapacity);
  // With the connections open before the sale (closed-loop.ts says why), on the bench's own loop.
  const body = JSON.stringify({ event_id: eventId });
  const { run, startedAt } = await measureClosedLoop(
    serverPid,
    s.baseUrl,
    s.connections,
    { total: s.selloutAttempts },
    (i) => ({ method: 'POST', path: '/book', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]!}` } }),
    { warm: true },
  );
  return { eventId, run, sellOutSeconds: ((await soldOutAt.done) - startedAt) / 1000 };
}
