import pg from 'pg';

/**
 * The old service's booking, per buyer: BEGIN; SELECT ... FOR UPDATE; UPDATE; INSERT; COMMIT, issued straight
 * at PostgreSQL by `clients` connections in a closed loop, with no HTTP in between: the ceiling of that design.
 */
export async function runOldDesign(url: string, eventId: number, userId: number, clients: number, seconds: number) {
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
          await client.query("INSERT INTO tickets (event_id, user_id, status) VALUES ($1, $2, 'booked')", [eventId, userId]);
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
  return { clients, committed, failed, perSecond: committed / elapsed, p50: pct(0.5), p99: pct(0.99) };
}
