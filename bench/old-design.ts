import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

// Tickets now keep the price paid (a NOT NULL column), so the old design copies it from the row it locked.
const OLD_TRANSACTION = `BEGIN;
SELECT tickets_sold, total_tickets FROM events WHERE id = :eid FOR UPDATE;
UPDATE events SET tickets_sold = tickets_sold + 1 WHERE id = :eid;
INSERT INTO tickets (event_id, user_id, status, price) SELECT :eid, :uid, 'booked', ticket_price FROM events WHERE id = :eid;
COMMIT;
`;

/**
 * The old design's ceiling measured by pgbench (C, one connection per client, no application at all), as
 * the issue measured it; null when pgbench is not installed, and the caller falls back to runOldDesignInNode.
 */
export function runOldDesignWithPgbench(url: string, eventId: number, userId: number, clients: number, seconds: number) {
  const script = join(tmpdir(), `bookfast-old-design-${process.pid}.sql`);
  writeFileSync(script, OLD_TRANSACTION);
  let output: string;
  try {
    output = execFileSync(
      'pgbench',
      ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-D', `eid=${eventId}`, '-D', `uid=${userId}`, '-f', script, url],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1]);
  const committed = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1]);
  return { tool: 'pgbench', clients, committed, failed: 0, perSecond: tps, p50: latency, p99: Number.NaN };
}

/**
 * The old service's booking, per buyer: BEGIN; SELECT ... FOR UPDATE; UPDATE; INSERT; COMMIT, issued straight
 * at PostgreSQL by `clients` connections in a closed loop, with no HTTP in between: the ceiling of that design.
 */
export async function runOldDesignInNode(url: string, eventId: number, userId: number, clients: number, seconds: number) {
  const pool = new pg.Pool({ connectionString: url, max: clients });
  const deadline = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let committed = 0;
  let failed = 0;
  const loop = async () => {
    const client = await pool.connect();
    try {
      while (Date.now() < deadline) {
        const started = performance.now();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ tickets_sold: number; total_tickets: number }>(
            'SELECT tickets_sold, total_tickets FROM events WHERE id = $1 FOR UPDATE',
            [eventId],
          );
          const row = rows[0]!;
          if (row.tickets_sold >= row.total_tickets) {
            await client.query('ROLLBACK');
            failed++;
            continue;
          }
          await client.query('UPDATE events SET tickets_sold = tickets_sold + 1 WHERE id = $1', [eventId]);
          await client.query("INSERT INTO tickets (event_id, user_id, status, price) SELECT $1, $2, 'booked', ticket_price FROM events WHERE id = $1", [eventId, userId]);
          await client.query('COMMIT');
          committed++;
          latencies.push(performance.now() - started);
        } catch {
          await client.query('ROLLBACK').catch(() => undefined);
          failed++;
        }
      }
    } finally {
      client.release();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = (performance.now() - started) / 1000;
  await pool.end();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { tool: 'node-postgres', clients, committed, failed, perSecond: committed / elapsed, p50: pct(0.5), p99: pct(0.99) };
}
