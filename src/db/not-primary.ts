import type pg from 'pg';

// During a failover a connection can reach a server that is not (or not yet) the primary: HAProxy follows
// Patroni's /primary check, which turns green ~70 ms before the promotion ends. PostgreSQL then refuses
// writes with these states; the client should retry shortly, and the connection must not be reused.

// 25006 read_only_sql_transaction ("cannot execute INSERT in a read-only transaction"): a standby, or a
// server with default_transaction_read_only; 57P03 cannot_connect_now ("the database system is starting
// up / is in recovery mode / is shutting down").
const NOT_PRIMARY_SQLSTATE = new Set(['25006', '57P03']);
// A hot-standby conflict (40001 serialization_failure, 40P01 deadlock_detected, 57P04 database_dropped) is
// only a standby's; it says so in its message. So does a function refused while recovery is in progress
// (55000 "recovery is in progress", XX000 "cannot ... during recovery").
const RECOVERY_MESSAGE = /conflict with recovery|recovery is in progress|during recovery/i;
const RECOVERY_SQLSTATE = new Set(['40001', '40P01', '57P04', '55000', 'XX000']);

/** The error says the server is not the primary right now (Drizzle's wrapper looked through). */
export function isNotPrimary(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (NOT_PRIMARY_SQLSTATE.has(code)) return true;
    if (RECOVERY_SQLSTATE.has(code) && typeof message === 'string' && RECOVERY_MESSAGE.test(message)) return true;
  }
  return cause !== error && isNotPrimary(cause);
}

/** Thrown by the readiness probe when the server answers but would refuse writes. */
export class NotPrimary extends Error {
  readonly code = '25006';
  constructor() {
    super('the database server is read-only (not the primary)');
  }
}

export interface NotPrimaryCounts {
  /** Pooled connections destroyed because their server was not the primary. */
  drops: number;
  /** Failovers seen: runs of such drops, a new run after 10 s without one. */
  episodes: number;
}

const EPISODE_GAP_MS = 10_000;

/** Counts the pool's connections released with a not-primary error (pg-pool destroys a client released with an error). */
export function countNotPrimaryDrops(pool: pg.Pool): NotPrimaryCounts {
  const counts: NotPrimaryCounts = { drops: 0, episodes: 0 };
  let lastDropAt = -Infinity;
  pool.on('release', (error: Error | undefined) => {
    if (!isNotPrimary(error)) return;
    counts.drops++;
    if (Date.now() - lastDropAt > EPISODE_GAP_MS) counts.episodes++;
    lastDropAt = Date.now();
  });
  return counts;
}
