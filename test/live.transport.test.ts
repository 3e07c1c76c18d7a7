import fastify from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgListener } from '../src/live/transport.js';

// The LISTEN connection that live seats and the sold-out notices share (src/live/transport.ts), against the
// real server: what it hears, and that it listens again by itself when PostgreSQL drops it. A server only:
// the embedded database has no second session to LISTEN on.

const url = process.env.DATABASE_URL;
const WAIT = { timeout: 10_000, interval: 20 };
const log = fastify({ logger: false }).log;

describe.skipIf(!url)('PgListener (the LISTEN connection of live seats and notices)', () => {
  let admin: pg.Client;
  // A channel and a connection name of this run's own: test files share the database.
  const tag = `t${process.pid}_${Date.now()}`;
  const channel = `bookfast_test_${tag}`;
  const name = `bookfast-test-${tag}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(() => admin.end());

  const notify = (payload: string) => admin.query('SELECT pg_notify($1, $2)', [channel, payload]);

  it('when its connection is killed, then it listens again by itself, says so, and hears what comes after', async () => {
    const heard: string[] = [];
    let restored = 0;
    const listener = new PgListener({ url: url!, name, label: 'test', log, onNotification: (c, p) => c === channel && heard.push(p), onRestored: () => restored++ });
    try {
      await listener.want(channel);
      await notify('before');
      await vi.waitFor(() => expect(heard).toEqual(['before']), WAIT);

      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
      expect(killed.rowCount).toBe(1);
      await vi.waitFor(() => expect(restored).toBe(1), WAIT);
      expect(listener.listeningCount()).toBe(1);

      await notify('after');
      await vi.waitFor(() => expect(heard).toEqual(['before', 'after']), WAIT);
    } finally {
      await listener.close();
    }
    // Closed: its connection is gone, and nothing reconnects it.
    const left = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
    expect(left.rows[0].n).toBe(0);
  });

  it('when a channel is no longer wanted, then it stops hearing it, and the connection closes with the listener', async () => {
    const heard: string[] = [];
    const listener = new PgListener({ url: url!, name, label: 'test', log, onNotification: (c, p) => c === channel && heard.push(p) });
    try {
      await Promise.all([listener.want(channel), listener.unwant(channel), listener.want(channel)]);
      expect(listener.listeningCount()).toBe(1);
      await listener.unwant(channel);
      expect(listener.listeningCount()).toBe(0);
      await notify('unheard');
      await listener.want(channel);
      await notify('heard');
      await vi.waitFor(() => expect(heard).toEqual(['heard']), WAIT);
    } finally {
      await listener.close();
    }
  });

  it('when the server cannot be reached, then want() fails, it tries again every second, and close() stops that', async () => {
    // A real logger whose lines the test reads: each failed try logs one warning.
    const lines: string[] = [];
    const warnings = fastify({ logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } } }).log;
    const failedTries = () => lines.filter((line) => line.includes('test: LISTEN failed; retrying')).length;
    const listener = new PgListener({ url: 'postgres://postgres@127.0.0.1:1/none', name, label: 'test', log: warnings, onNotification: () => undefined });
    await expect(listener.want(channel)).rejects.toThrow();
    await vi.waitFor(() => expect(failedTries()).toBeGreaterThanOrEqual(2), WAIT);
    await listener.close();
    const triesWhenClosed = failedTries();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(failedTries()).toBe(triesWhenClosed);
    expect(listener.listeningCount()).toBe(0);
  });
});
