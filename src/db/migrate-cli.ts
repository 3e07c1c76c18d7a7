import { loadConfig } from '../config.js';
import { openDatabase } from './client.js';

// `npm run db:migrate`: apply pending migrations to the configured database, then exit.
const config = loadConfig();
// The pooler settings too: behind PgBouncer the migration takes its lock on the direct connection, and the
// role's timeouts are set there.
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  dataDir: config.dataDir,
  pooler: config.databasePooler,
  directUrl: config.databaseDirectUrl,
  poolSize: 1,
});
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind === 'pglite' ? config.dataDir : 'DATABASE_URL'})`);
} finally {
  await database.close();
}
