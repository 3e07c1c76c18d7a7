// `npm run bench`: the flash-sale benchmark. See docs/benchmark.md. Needs DATABASE_URL (a real PostgreSQL);
// it works in a throwaway database it creates on that server and drops afterwards. `--embedded` measures the
// embedded database instead, in a throwaway data folder.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { renderQueueMarkdown, type QueueResults } from './queue.js';
import { renderChart } from './chart.js';
import { renderMarkdown, type BenchResults } from './report.js';
import { checkedResults } from './results.js';
import { runScenarios, SCENARIO_NAMES, type ScenarioName, type ScenarioRuns, type ScenarioSettings } from './scenarios.js';
import { openDatabase } from '../src/db/client.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { benchThroughHa, renderThroughHa } from './through-ha.js';
import { benchThroughPooler, renderThroughPooler } from './through-pooler.js';
import { renderWebhooksMarkdown, type WebhookResults } from './webhooks.js';

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
    // `--only c,c-limit`: just those scenarios (names in scenarios.ts, SCENARIO_NAMES), for a quick A/B of one
    // path; (a) is left out too. The invariant is still checked over whatever ran.
    only: { type: 'string' },
    port: { type: 'string', default: '8077' },
    // `--through pgbouncer`: POST /book direct, through PgBouncer, and through HAProxy + --hosts hosts + PgBouncer.
    // `--through ha`: (c) and (d) on the single server, then through the Patroni cluster of ops/ha (sync, async).
    through: { type: 'string' },
    hosts: { type: 'string', default: '3' },
    // Where results go (.json and .md): bench/results/latest, or latest-only for an --only run, which must not
    // stand in for the last full run (--through ignores --only).
    out: { type: 'string' },
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
const only = args.only === undefined ? undefined : onlyScenarios(args.only);
const out = args.out ?? (only && !args.through ? 'bench/results/latest-only' : 'bench/results/latest');

/** The --only list, checked: known names only, and (c) along with the open loop, whose rates are shares of (c)'s. */
function onlyScenarios(list: string): ScenarioName[] {
  const isScenario = (name: string): name is ScenarioName => (SCENARIO_NAMES as readonly string[]).includes(name);
  const names = list.split(',').map((name) => name.trim());
  if (names.some((name) => !isScenario(name))) {
    console.error(`--only ${list}: a comma-separated list of ${SCENARIO_NAMES.join(', ')}`);
    process.exit(2);
  }
  if (names.includes('open-loop') && !names.includes('c')) {
    console.error("--only: open-loop needs c too (it runs at 50% and 80% of (c)'s rate)");
    process.exit(2);
  }
  return names.filter(isScenario);
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

const skip: ScenarioName[] = (['open-loop', 'webhooks', 'queue'] as const).filter((name) => args[`skip-${name}`]);
const settings: ScenarioSettings = {
  baseUrl,
  connections,
  duration,
  capacity: Math.min(Number(args.capacity), 1_000_000),
  workers,
  buyers,
  embedded,
  secretKey,
  manyEvents: Number(args['many-events']),
  selloutCapacity: Number(args['sellout-capacity']),
  selloutAttempts: Number(args['sellout-attempts']),
  queueBuyers: Number(args['queue-buyers']),
  only,
  skip,
  log,
};

function writeResults(results: BenchResults & { queue?: QueueResults | undefined; webhooks?: WebhookResults | undefined }): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, JSON.stringify(results, null, 2));
  const markdown =
    renderMarkdown(results) + (results.queue ? renderQueueMarkdown(results.queue) : '') + (results.webhooks ? renderWebhooksMarkdown(results.webhooks) : '');
  writeFileSync(`${out}.md`, markdown);
  writeFileSync(`${out}.svg`, renderChart(results));
  console.log(`\n${markdown}`);
  log(`wrote ${out}.json, ${out}.md and ${out}.svg`);
  if (!results.invariant.ok) process.exitCode = 1;
}

// The embedded database belongs to the server while it runs, so the rows are checked after it stops.
async function mainEmbedded(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-bench-'));
  log(`throwaway data folder ${dataDir}`);
  const server = await startServerProcess({ ...serverEnv, DATA_DIR: dataDir }, { ...asBuilt, unset: ['DATABASE_URL'] });
  let ran: ScenarioRuns;
  try {
    ran = await runScenarios(settings, server.child.pid!, undefined);
  } finally {
    log(`server exited with ${String(await server.stop())} after SIGTERM`);
  }
  const database = await openDatabase({ dataDir });
  try {
    // A name per statement: prepared() keeps each parsed statement under its name.
    let statements = 0;
    writeResults(await checkedResults((text, values) => database.prepared(`bench_check_${statements++}`, text, values), settings, ran));
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
    const ran = await runScenarios(settings, server.child.pid!, { db, dbUrl, maxConnections });
    writeResults(await checkedResults(async (text, values) => (await db.query(text, values)).rows, settings, ran));
  } finally {
    await db.end();
    log(`server exited with ${String(await server.stop())} after SIGTERM`);
    await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
    await admin.end();
  }
}

async function runThroughPooler(dbUrl: string, benchDb: string): Promise<void> {
  if (args.through === 'ha') return runThroughHa(dbUrl);
  if (args.through !== 'pgbouncer') throw new Error(`--through ${args.through}: pgbouncer or ha`);
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
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}-through-pgbouncer.json`, JSON.stringify({ at: new Date().toISOString(), options: { connections, duration, workers, hosts: args.hosts }, runs }, null, 2));
  writeFileSync(`${out}-through-pgbouncer.md`, `${markdown}\n`);
  console.log(`\n${markdown}`);
  if (runs.some((run) => !run.soldEqualsBooked)) process.exitCode = 1;
}

async function runThroughHa(dbUrl: string): Promise<void> {
  const runs = await benchThroughHa({ dbUrl, connections, duration, workers, buyers, port: Number(args.port), log });
  const markdown = renderThroughHa(runs);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}-through-ha.json`, JSON.stringify({ at: new Date().toISOString(), options: { connections, duration, workers }, runs }, null, 2));
  writeFileSync(`${out}-through-ha.md`, `${markdown}\n`);
  console.log(`\n${markdown}`);
  if (runs.some((run) => !run.soldEqualsBooked)) process.exitCode = 1;
}

await main();
