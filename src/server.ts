import cluster from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, describeLimits, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { answerClusterMetricRequests } from './metrics/cluster.js';

// Start-up: config -> database -> migrations -> app -> listen. Any failure exits with one clear line.
// With WORKERS > 1 the primary migrates once, then forks one server per worker; they share the port
// (node:cluster) and coordinate only through PostgreSQL, which is what keeps them from overselling.
async function main(): Promise<void> {
  // Worker processes read the same settings: the primary alone reports what it rewrote.
  const config = loadConfig(process.env, cluster.isPrimary ? {} : { warn: () => undefined });
  // Once per start-up (the primary, or the only process): where each limit is counted, and how much.
  if (cluster.isPrimary) console.log(`bookfast: ${describeLimits(config)}`);
  if (cluster.isPrimary) stopWhenOrphaned();
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config);
  return runServer(config, cluster.isPrimary);
}

async function runServer(config: Config, migrate: boolean): Promise<void> {
  const database = await openDatabase({ ...databaseOptions(config), poolSize: config.dbPoolSize });
  if (migrate) await database.migrate();
  const app = await buildApp({ config, database, clusterWorker: config.workers > 1 });

  // SIGTERM/SIGINT: stop accepting, answer in-flight requests, drain batches and promotions, stop the
  // sweeper (app.close(), see its onClose hook in app.ts), and only then close the pool; exit 0.
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    await app.close();
    await database.close();
  });

  await app.listen({ port: config.port, host: config.host });
  if (cluster.isPrimary) {
    app.log.info(
      `BookFast on http://${config.host}:${config.port} (docs at /docs), database: ${
        database.kind === 'pglite' ? `embedded PostgreSQL in ${config.dataDir}` : 'PostgreSQL server'
      }`,
    );
    if (config.databaseUrl) app.log.info(describeDatabaseRoutes(config));
  }
}

// Under `npm start`, npm hands a SIGTERM to the shell it ran the script in, and Debian's sh dies of it
// without passing it on: the server ran on, orphaned. Started by npm, it watches for that (its parent
// changes) and stops as on SIGTERM. A `exec` in the script would do it too, but not under Windows' cmd.
function stopWhenOrphaned(): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}

function databaseOptions(config: Config) {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    pooler: config.databasePooler,
    directUrl: config.databaseDirectUrl,
    readUrl: config.databaseReadUrl,
    readMaxLagMs: config.databaseReadMaxLagMs,
  };
}

// One start-up line saying where each kind of work goes (issue 15: behind a pooler, live seats need a route).
function describeDatabaseRoutes(config: Config): string {
  const pooler = config.databasePooler === 'pgbouncer' ? 'through PgBouncer (transaction mode, unnamed statements)' : 'direct';
  const migrations = config.databaseDirectUrl ? 'DATABASE_DIRECT_URL' : 'DATABASE_URL';
  const live = config.redisUrl ? 'Redis pub/sub' : `LISTEN on ${config.databaseDirectUrl ? 'DATABASE_DIRECT_URL' : 'DATABASE_URL'}`;
  const reads = config.databaseReadUrl ? `the replica (DATABASE_READ_URL) while within ${config.databaseReadMaxLagMs} ms` : 'the primary';
  return `database: queries ${pooler}; migrations on ${migrations}; live seats via ${live}; read-only lists from ${reads}`;
}

async function runPrimary(config: Config): Promise<void> {
  const database = await openDatabase({ ...databaseOptions(config), readUrl: undefined, poolSize: 1 });
  await database.migrate();
  await database.close();

  let stopping = false;
  answerClusterMetricRequests();
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(`bookfast: worker ${worker.process.pid} exited with ${code}; starting another`);
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  console.log(`BookFast on http://${config.host}:${config.port} (docs at /docs) with ${config.workers} worker processes`);
  console.log(describeDatabaseRoutes(config));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error).message}`;
  console.error(`bookfast: ${message}`);
  process.exit(1);
});
