import { loadConfig } from '../config.js';
import { openDatabase } from './client.js';

// `npm run db:migrate`: apply pending migrations to the configured database, then exit.
const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind === 'pglite' ? config.dataDir : 'DATABASE_URL'})`);
} finally {
  await database.close();
}
