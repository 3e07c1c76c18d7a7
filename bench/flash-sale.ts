// `npm run bench`: the flash-sale benchmark. See README "Benchmark". Needs DATABASE_URL (a real PostgreSQL);
// it works in a throwaway database it creates on that server and drops afterwards. `--embedded` measures the
// embedded database instead, in a throwaway data folder.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { runOldDesignInNode, runOldDesignWithPgbench } from './old-design.js';
import { renderQueueMarkdown, runQueueScenario, type QueueResults } from './queue.js';
import { renderMarkdown, type BenchResults } from './report.js';
import { benchCpuSince } from './cpu-seconds.js';
import { openDatabase } from '../src/db/client.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { benchThroughPooler, renderThroughPooler } from './through-pooler.js';
import { measureClosedLoop } from './closed-loop.js';
import { measure, measureOpenLoop, type Measured } from './measure.js';
import { bookRequests, keyedBookRequests, makeBuyers, orderRequests } from './requests.js';
import { batchTotals, eventCreator, ticketsSold, watchSellOut } from './server-calls.js';
import { checkBookedAcross, checkInvariant, checkKeyed, checkOrders, type Query } from './invariant-checks.js';
import { renderWebhooksMarkdown, runWebhookScenario, type WebhookResults } from './webhooks.js';

const { values: args } = parseArgs({
  options: {
    // The embedded database: one server process, and (as the issue measured it with wrk) 64 connections
    // and 50 buyers unless told otherwise.
    embedded: { type: 'boolean', default: false },
    connections: { type: 'string' },
    duration: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '10000000' },
    // As production runs (WORKERS defaults to the core count there); --workers 1 measures one process.
    workers: { type: 'string' },
    buyers: { type: 'string' },
    'sellout-capacity': { type: 'string', default: '5000' },
    // (c-many): POST /book spread over this many events (0 leaves it out).
    'many-events': { type: 'string', default: '100' },
    'sellout-attempts': { type: 'string', default: '20000' },
    'skip-open-loop': { type: 'boolean', default: false },
    // Waiting room (issue 14, bench/queue.ts; PostgreSQL only): how many buyers queue; --skip-queue leaves it out.
    'queue-buyers': { type: 'string', default: '50000' },
    'skip-queue': { type: 'boolean', default: false },
    // Webhooks (issue 17, bench/webhooks.ts): POST /book with and without a subscriber; --skip-webhooks leaves it out.
    'skip-webhooks': { type: 'boolean', default: false },
    port: { type: 'string', default: '8077' },
    // `--through pgbouncer`: POST /book direct, through PgBouncer, and through HAProxy + --hosts hosts + PgBouncer.
    through: { type: 'string' },
    hosts: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/latest' },
  },
});
const embedded = args.embedded;
const connections = Number(args.connections ?? (embedded ? 64 : 256));
const duration = Number(args.duration);
const workers = embedded ? 1 : Number(args.workers ?? availableParallelism());
const buyers = Number(args.buyers ?? (embedded ? 50 : 200));
const baseUrl = `http://127.0.0.1:${args.port}`;

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl && !embedded) {
  console.error(
    'npm run bench needs DATABASE_URL=postgres://user@host:5432/db (a real PostgreSQL server),\n' +
      'or `npm run bench -- --embedded` to measure the embedded database (one process, one connection).',
  );
  process.exit(2);
}
if (embedded && args.workers && args.workers !== '1') {
  console.error('--embedded runs one server process: the embedded database serves one process');
  process.exit(2);
}

// Known here too: the queue scenario signs its crowd's tokens with it.
const secretKey = randomBytes(32).toString('hex');
const serverEnv = {
  PORT: String(args.port),
  HOST: '127.0.0.1',
  WORKERS: String(workers),
  LOG_LEVEL: 'warn',
  RATE_LIMITS: 'off',
  BCRYPT_COST: '10',
  SECRET_KEY: secretKey,
  // The webhooks scenario's receiver listens on loopback.
  WEBHOOKS_ALLOW_PRIVATE: 'true',
};
// The server as production runs it (dist/, after the build below), its warnings shown as they come.
const asBuilt = { built: true, output: 'inherit' } as const;

const log = (line: string) => console.log(`[bench] ${line}`);

function writeResults(results: BenchResults & { queue?: QueueResults | undefined; webhooks?: WebhookResults | undefined }): void {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`${args.out}.json`, JSON.stringify(results, null, 2));
  const markdown =
    renderMarkdown(results) + (results.queue ? renderQueueMarkdown(results.queue) : '') + (results.webhooks ? renderWebhooksMarkdown(results.webhooks) : '');
  writeFileSync(`${args.out}.md`, markdown);
  console.log(`\n${markdown}`);
  log(`wrote ${args.out}.json and ${args.out}.md`);
  if (!results.invariant.ok) process.exitCode = 1;
}

// The embedded database belongs to the server while it runs, so the rows are checked after it stops.
async function mainEmbedded(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-bench-'));
  log(`throwaway data folder ${dataDir}`);
  const server = await startServerProcess({ ...serverEnv, DATA_DIR: dataDir }, { ...asBuilt, unset: ['DATABASE_URL'] });
  let run: Awaited<ReturnType<typeof runScenarios>>;
  try {
    run = await runScenarios(server.child.pid!, undefined);
  } finally {
    log(`server exited with ${String(await server.stop())} after SIGTERM`);
  }
  const database = await openDatabase({ dataDir });
  try {
    // A name per statement: prepared() keeps each parsed statement under its name.
    let statements = 0;
    writeResults(await run.check((text, values) => database.prepared(`bench_check_${statements++}`, text, values)));
  } finally {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  log('building the server (npm run build)');
  execSync('npm run build --silent', { stdio: 'inherit' });
  if (embedded) return mainEmbedded();
  const benchDb = `bookfast_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${benchDb}`);
  const dbUrl = Object.assign(new URL(serverUrl!), { pathname: `/${benchDb}` }).toString();
  const maxConnections = Number((await admin.query<{ max_connections: string }>('SHOW max_connections')).rows[0]!.max_connections);
  log(`throwaway database ${benchDb}; PostgreSQL max_connections = ${maxConnections}`);
  if (args.through !== undefined) {
    try {
      await runThroughPooler(dbUrl, benchDb);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
      await admin.end();
    }
    return;
  }

  const server = await startServerProcess({ DATABASE_URL: dbUrl, ...serverEnv }, asBuilt);
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const run = await runScenarios(server.child.pid!, { db, dbUrl, maxConnections });
    writeResults(await run.check(async (text, values) => (await db.query(text, values)).rows));
  } finally {
    await db.end();
    log(`server exited with ${String(await server.stop())} after SIGTERM`);
    await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
    await admin.end();
  }
}

async function runThroughPooler(dbUrl: string, benchDb: string): Promise<void> {
  if (args.through !== 'pgbouncer') throw new Error(`--through ${args.through}: only pgbouncer is known`);
  const runs = await benchThroughPooler({
    dbUrl,
    serverUrl: serverUrl!,
    benchDb,
    connections,
    duration,
    workers,
    hosts: Number(args.hosts),
    buyers,
    port: Number(args.port),
    log,
  });
  const markdown = renderThroughPooler(runs);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`${args.out}-through-pgbouncer.json`, JSON.stringify({ at: new Date().toISOString(), options: { connections, duration, workers, hosts: args.hosts }, runs }, null, 2));
  writeFileSync(`${args.out}-through-pgbouncer.md`, `${markdown}\n`);
  console.log(`\n${markdown}`);
  if (runs.some((run) => !run.soldEqualsBooked)) process.exitCode = 1;
}

interface ServerDatabase {
  db: pg.Client;
  dbUrl: string;
  maxConnections: number;
}

/** Runs every scenario over HTTP; `check` then reads the rows (when the embedded server has let go of them). */
async function runScenarios(serverPid: number, server: ServerDatabase | undefined) {
  log(`registering and logging in ${buyers} buyers`);
  const tokens = await makeBuyers(baseUrl, buyers);
  const createEvent = eventCreator(baseUrl, tokens[0]!);
  const capacity = Math.min(Number(args.capacity), 1_000_000);
  const hotEvent = await createEvent('Hot event (POST /book)', capacity);
  // (a) needs a PostgreSQL server to send the old transaction to: not run on the embedded database.
  const oldEvent = server ? await createEvent('Old design (pure SQL)', capacity) : undefined;
  const oldDesign = server && oldEvent ? await runOldDesign(server, oldEvent) : undefined;

  log('warming up (2 s of each route, not counted): the JIT compiles the hot paths first');
  await autocannon({ url: `${baseUrl}/health`, connections, duration: 2 });
  await autocannon(bookRequests(baseUrl, tokens, hotEvent, { connections, duration: 2 }));
  const warmupBookings = await ticketsSold(baseUrl, hotEvent);

  log(`(b) GET /health with ${connections} connections for ${duration} s`);
  const health = await measure(serverPid, { url: `${baseUrl}/health`, connections, duration });

  log(`(c) POST /book on one event with ${connections} connections for ${duration} s`);
  const batchesBefore = await batchTotals(baseUrl);
  const bookRun = await measure(serverPid, bookRequests(baseUrl, tokens, hotEvent, { connections, duration }));
  const batchesAfter = await batchTotals(baseUrl);
  const book = { ...bookRun, meanBatchSize: (batchesAfter.buyers - batchesBefore.buyers) / Math.max(1, batchesAfter.batches - batchesBefore.batches) };

  // (c-key) the same with a new Idempotency-Key on every request, on its own event: the cost of recording the
  // key in the batch statement, to set against (c).
  const keyedEvent = await createEvent('Hot event (POST /book with Idempotency-Key)', capacity);
  await autocannon(keyedBookRequests(baseUrl, tokens, keyedEvent, { connections, duration: 2 }));
  const keyedWarmup = await ticketsSold(baseUrl, keyedEvent);
  log(`(c-key) POST /book with an Idempotency-Key per request, one event, ${connections} connections for ${duration} s`);
  const keyedBook = await measure(serverPid, keyedBookRequests(baseUrl, tokens, keyedEvent, { connections, duration }));

  // (c-limit) the same on an event with a max_per_user (never reached here): these go through the order batch,
  // which counts each buyer's seats after taking the event's lock; to set against (c).
  const limitedEvent = await createEvent('Hot event (POST /book, max_per_user)', capacity, { max_per_user: 1_000_000 });
  await autocannon(bookRequests(baseUrl, tokens, limitedEvent, { connections, duration: 2 }));
  const limitedWarmup = await ticketsSold(baseUrl, limitedEvent);
  log(`(c-limit) POST /book on an event with max_per_user, ${connections} connections for ${duration} s`);
  const limitedBook = await measure(serverPid, bookRequests(baseUrl, tokens, limitedEvent, { connections, duration }));

  // (c-many) the same spread over many events, the capacity model's other case (README, "Running on more than
  // one machine"): each event has its own batches, so they are smaller and there are more statements.
  const manyEvents: number[] = [];
  for (let i = 0; i < Number(args['many-events']); i++) manyEvents.push(await createEvent(`Many events #${i + 1}`, capacity));
  let manyBook: (Measured & { events: number; warmup: number }) | undefined;
  if (manyEvents.length > 0) {
    await autocannon(bookRequests(baseUrl, tokens, manyEvents, { connections, duration: 2 }));
    const warmup = (await Promise.all(manyEvents.map((id) => ticketsSold(baseUrl, id)))).reduce((sum, sold) => sum + sold, 0);
    log(`(c-many) POST /book spread over ${manyEvents.length} events, ${connections} connections for ${duration} s`);
    manyBook = { ...(await measure(serverPid, bookRequests(baseUrl, tokens, manyEvents, { connections, duration }))), events: manyEvents.length, warmup };
  }

  const openLoop: (Awaited<ReturnType<typeof measureOpenLoop>> & { share: number; rate: number })[] = [];
  if (!args['skip-open-loop']) {
    for (const share of [0.5, 0.8]) {
      const rate = Math.max(1, Math.round(book.requestsPerSecond * share));
      log(`open loop: POST /book at a fixed ${rate} requests/s (${share * 100}% of the maximum) for ${duration} s`);
      openLoop.push({ share, rate, ...(await measureOpenLoop({ serverPid, url: baseUrl, connections, seconds: duration, tokens, eventId: hotEvent, rate })) });
    }
  }

  const selloutCapacity = Number(args['sellout-capacity']);
  const attempts = Number(args['sellout-attempts']);
  const selloutEvent = await createEvent('Small event (sell-out)', selloutCapacity);
  log(`sell-out: ${attempts} attempts at ${selloutCapacity} seats`);
  const soldOutAt = watchSellOut(baseUrl, selloutEvent, selloutCapacity);
  // With the connections open before the sale (closed-loop.ts says why), on the bench's own loop.
  const selloutBody = JSON.stringify({ event_id: selloutEvent });
  const { run: sellout, startedAt: selloutStartedAt } = await measureClosedLoop(
    serverPid,
    baseUrl,
    connections,
    { total: attempts },
    (i) => ({ method: 'POST', path: '/book', body: selloutBody, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]!}` } }),
    { warm: true },
  );
  const sellOutSeconds = ((await soldOutAt.done) - selloutStartedAt) / 1000;

  // (d) several seats per request: POST /orders with quantity 1, 2, 3, 4 rotating (immediate orders, one
  // transaction each), on its own event. Seats/s is the figure to set against (c)'s tickets/s.
  const ordersEvent = await createEvent('Mixed quantities (POST /orders)', capacity);
  await autocannon(orderRequests(baseUrl, tokens, ordersEvent, { connections, duration: 2 }));
  const seatsBefore = await ticketsSold(baseUrl, ordersEvent);
  log(`(d) POST /orders, quantity 1..4 rotating, on one event with ${connections} connections for ${duration} s`);
  const ordersRun = await measure(serverPid, orderRequests(baseUrl, tokens, ordersEvent, { connections, duration }));
  const seats = (await ticketsSold(baseUrl, ordersEvent)) - seatsBefore;

  const webhooks = args['skip-webhooks']
    ? undefined
    : await runWebhookScenario({
        baseUrl,
        duration,
        ownerToken: tokens[0]!,
        createEvent: (name) => createEvent(name, capacity),
        bookRequests: (eventId, options) => bookRequests(baseUrl, tokens, eventId, { connections, ...options }),
        measure: (options) => measure(serverPid, options),
        warmUp: (options) => autocannon(options),
        ticketsSold: (eventId) => ticketsSold(baseUrl, eventId),
        log,
      });

  // Waiting room (issue 14): joins, polls, admission rate, POST /book with a pass against no room. It
  // inserts its crowd of accounts directly, so it needs the PostgreSQL server.
  const queueBuyers = Number(args['queue-buyers']);
  const runQueue = server !== undefined && !args['skip-queue'];
  if (runQueue) log(`waiting room: ${queueBuyers} buyers join, then poll for ${duration} s; POST /book with a pass vs no room`);
  const queue = runQueue
    ? await runQueueScenario({ baseUrl, db: server.db, secretKey, connections, duration, queued: queueBuyers, buyerTokens: tokens, ownerToken: tokens[0]!, measure: (options) => measure(serverPid, options) })
    : undefined;

  const check = async (query: Query) => {
    const ordersCheck = await checkOrders(query, ordersEvent);
    const invariant = await checkInvariant(query, [
      ...Object.entries(queue?.successes ?? {}).map(([id, successes]) => ({ id: Number(id), successes })),
      { id: hotEvent, successes: warmupBookings + book.ok + openLoop.reduce((sum, run) => sum + run.ok + run.warmupOk, 0) },
      { id: selloutEvent, successes: sellout.ok, exactly: selloutCapacity },
      ...(oldEvent && oldDesign ? [{ id: oldEvent, successes: oldDesign.committed }] : []),
      { id: ordersEvent, successes: ordersRun.ok },
      { id: keyedEvent, successes: keyedWarmup + keyedBook.ok },
      ...(webhooks?.events ?? []),
      { id: limitedEvent, successes: limitedWarmup + limitedBook.ok },
      ...manyEvents.map((id) => ({ id, successes: 0 })),
    ]);
    invariant.problems.push(...ordersCheck.problems, ...(await checkKeyed(query, keyedEvent)));
    if (manyBook) {
      invariant.problems.push(...(await checkBookedAcross(query, '(c-many)', manyEvents, manyBook.warmup + manyBook.ok)));
    }
    invariant.ok = invariant.problems.length === 0;
    return {
      at: new Date().toISOString(),
      machine: { cores: availableParallelism(), node: process.version },
      options: { connections, duration, capacity, workers, buyers: tokens.length, database: embedded ? ('embedded' as const) : ('postgres' as const) },
      oldDesign,
      health,
      book,
      keyedBook,
      limitedBook,
      manyBook,
      ratios: {
        bookOverOldDesign: oldDesign ? book.okPerSecond / oldDesign.perSecond : undefined,
        bookOverHealth: book.requestsPerSecond / health.requestsPerSecond,
        keyedOverBook: keyedBook.okPerSecond / book.okPerSecond,
        limitedOverBook: limitedBook.okPerSecond / book.okPerSecond,
        manyOverBook: manyBook ? manyBook.okPerSecond / book.okPerSecond : undefined,
      },
      openLoop,
      sellout: { capacity: selloutCapacity, attempts, sellOutSeconds, ...sellout },
      orders: { ...ordersRun, seats, seatsPerSecond: seats / ordersRun.seconds, orders: ordersCheck },
      queue,
      webhooks,
      invariant,
    };
  };
  return { check };
}

// (a) the old design's transaction, straight at PostgreSQL; connections are capped by max_connections.
async function runOldDesign({ db, dbUrl, maxConnections }: ServerDatabase, oldEvent: number) {
  const { rows: owner } = await db.query<{ id: number }>('SELECT id FROM users ORDER BY id LIMIT 1');
  const oldClients = Math.max(1, Math.min(connections, maxConnections - workers * 8 - 10));
  log(`(a) old design: BEGIN; SELECT FOR UPDATE; UPDATE; INSERT; COMMIT with ${oldClients} clients for ${duration} s`);
  const oldCpu = process.cpuUsage();
  const old =
    runOldDesignWithPgbench(dbUrl, oldEvent, owner[0]!.id, oldClients, duration) ??
    (await runOldDesignInNode(dbUrl, oldEvent, owner[0]!.id, oldClients, duration));
  return { ...old, benchCpuSeconds: benchCpuSince(oldCpu) };
}

await main();
