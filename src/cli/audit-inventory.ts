// `npm run audit:inventory`: checks every event's counters against its rows, for operators to run any time
// (read-only). Exit code 0 when everything agrees, 1 when it found drift, 2 when it could not check.
import { findInventoryDrift } from '../inventory/audit.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';

const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
try {
  const drift = await findInventoryDrift(database.db);
  if (drift.length === 0) {
    console.log('inventory audit: every event agrees with its tickets and orders (no drift)');
  } else {
    console.log(`inventory audit: ${drift.length} event(s) drifted`);
    console.table(drift);
    process.exitCode = 1;
  }
} catch (error) {
  const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
  console.error(`inventory audit failed: ${cause.message} (are migrations applied? npm run db:migrate)`);
  process.exitCode = 2;
} finally {
  await database.close();
}
