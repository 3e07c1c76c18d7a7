import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';

// Start-up: config -> database -> migrations -> app -> listen. Any failure exits with one clear line.
async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
  });
  await database.migrate();
  const app = await buildApp({ config, database });
  app.addHook('onClose', () => database.close());

  // SIGTERM/SIGINT: stop accepting, finish in-flight requests and batches, close the pool, exit 0.
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    await app.close();
  });

  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    `BookFast on http://${config.host}:${config.port} (docs at /docs), database: ${
      database.kind === 'pglite' ? `embedded PostgreSQL in ${config.dataDir}` : 'PostgreSQL server'
    }`,
  );
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error).message}`;
  console.error(`bookfast: ${message}`);
  process.exit(1);
});
