// The vitest side of server-process.ts (which stays plain Node for the bench): server processes on a
// throwaway database for one describe block.
import { afterAll, beforeAll, expect } from 'vitest';
import { serverProcessEnv, startServerProcess, type ServerProcess } from './server-process.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export interface ServerProcessesSetup {
  /** Variables every process gets, over serverProcessEnv's (which the processes share: one SECRET_KEY). */
  env?: Record<string, string>;
  /** Also assert in afterAll that every process exited 0 on SIGTERM. */
  expectCleanExit?: boolean;
}

/**
 * A throwaway database on the PostgreSQL server and one process per entry of `processes` (that process's
 * own variables), started at once in beforeAll; afterAll stops them, then drops the database. The objects
 * returned are filled in place by beforeAll, so a describe block can name them at its top.
 */
export function setUpServerProcesses<const Processes extends readonly Record<string, string>[]>(
  processes: Processes,
  setup: ServerProcessesSetup = {},
): { testDb: TestDatabase; servers: { [K in keyof Processes]: ServerProcess } } {
  const testDb = {} as TestDatabase;
  const servers = processes.map(() => ({}) as ServerProcess);
  beforeAll(async () => {
    Object.assign(testDb, await createTestDatabase());
    const env = serverProcessEnv(testDb.url!, setup.env);
    await Promise.all(processes.map(async (own, i) => Object.assign(servers[i]!, await startServerProcess({ ...env, ...own }))));
  }, 150_000);
  afterAll(async () => {
    // Only what beforeAll got as far as starting (vitest reports why it stopped).
    const codes = await Promise.all(servers.filter((server) => server.child).map((server) => server.stop()));
    if (testDb.drop) await testDb.drop();
    if (setup.expectCleanExit) expect(codes).toEqual(servers.map(() => 0));
  }, 60_000);
  return { testDb, servers: servers as { [K in keyof Processes]: ServerProcess } };
}
