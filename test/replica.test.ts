import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { replicaMissing, startReplicatedPair, type ReplicatedPair } from './helpers/replica.js';

// DATABASE_READ_URL against a real streaming replica made for this file: lists read from it while it keeps up,
// and from the primary (logged) when it lags past DATABASE_READ_MAX_LAG_MS or is down.
const missing = replicaMissing();
if (missing) console.log(`replica.test.ts skipped: ${missing}`);

describe.skipIf(missing)('when DATABASE_READ_URL points at a streaming replica', () => {
  let pair: ReplicatedPair;
  const opened: { database: Database; app: FastifyInstance; lines: string[] }[] = [];
  let patient: (typeof opened)[number];
  let strict: (typeof opened)[number];

  async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  }
  const until = async (condition: () => boolean | Promise<boolean>) => {
    while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
  };
  async function open(maxLagMs: number) {
    const database = await openDatabase({ databaseUrl: pair.primaryUrl('bookfast'), readUrl: pair.replicaUrl('bookfast'), readMaxLagMs: maxLagMs, poolSize: 2 });
    const lines: string[] = [];
    const app = await buildApp({ config: testConfig(), database, logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
    const entry = { database, app, lines };
    opened.push(entry);
    await until(() => database.reads!.usingReplica());
    return entry;
  }
  const insertEvent = async (name: string) =>
    (await sql<{ id: number }>(pair.primaryUrl('bookfast'), `INSERT INTO events (event_name, date, ticket_price, total_tickets) VALUES ('${name}', now() + interval '30 days', 10, 5) RETURNING id`))[0]!.id;
  const listedIds = async (app: FastifyInstance) => {
    const response = await app.inject({ method: 'GET', url: '/events?limit=100' });
    expect(response.statusCode).toBe(200);
    return response.json<{ id: number }[]>().map((event) => event.id);
  };
  const replay = (action: 'pause' | 'resume') => sql(pair.replicaUrl('bookfast'), `SELECT pg_wal_replay_${action}()`);

  beforeAll(async () => {
    pair = await startReplicatedPair();
    await sql(pair.primaryUrl('postgres'), 'CREATE DATABASE bookfast');
    const primary = await openDatabase({ databaseUrl: pair.primaryUrl('bookfast'), poolSize: 1 });
    await primary.migrate();
    await primary.close();
    // Ten minutes of lag allowed, and a third of a second.
    patient = await open(600_000);
    strict = await open(300);
  }, 120_000);

  afterAll(async () => {
    for (const { app, database } of opened) {
      await app.close();
      await database.close();
    }
    pair?.stop();
  });

  it('then the events list and page are read from the replica', async () => {
    await replay('pause');
    try {
      // Committed on the primary, not yet replayed: only a read served by the replica misses it.
      const id = await insertEvent('Only on the primary for now');
      expect(await listedIds(patient.app)).not.toContain(id);
      expect((await patient.app.inject({ method: 'GET', url: `/events/${id}` })).statusCode).toBe(404);
    } finally {
      await replay('resume');
    }
  });

  it('then, when the replica lags past DATABASE_READ_MAX_LAG_MS, lists come from the primary (logged) until it catches up', async () => {
    await replay('pause');
    let id: number;
    try {
      id = await insertEvent('Written while the replica lags');
      await until(() => !strict.database.reads!.usingReplica());
      expect(await listedIds(strict.app)).toContain(id);
      expect(strict.lines.join('')).toMatch(/reads: on the primary \(replica \d+ ms behind \(DATABASE_READ_MAX_LAG_MS=300\)\)/);
    } finally {
      await replay('resume');
    }
    await until(() => strict.database.reads!.usingReplica());
    expect(strict.lines.join('')).toMatch(/reads: back on the replica/);
    expect(await listedIds(strict.app)).toContain(id);
  });

  it('then, when the replica is down, the next list is still answered, from the primary, and the switch is logged', async () => {
    const id = await insertEvent('Written before the replica stops');
    await until(async () => (await listedIds(patient.app)).includes(id));
    expect(patient.database.reads!.usingReplica()).toBe(true);
    pair.stopReplica();
    // The first read after the crash fails on the replica and is answered by the primary.
    expect(await listedIds(patient.app)).toContain(id);
    expect(patient.database.reads!.usingReplica()).toBe(false);
    expect(patient.lines.join('')).toMatch(/reads: on the primary \(replica (failed a read|unreachable)/);
  });
});
