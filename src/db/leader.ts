import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from './client.js';

// Leader election for background jobs that one process at a time should run, across workers and hosts:
// a lease row (leader_leases) taken or renewed by ONE statement, so it needs no session and works through
// PgBouncer in transaction mode, on a direct connection and on PGlite alike. Expiry is the database's clock
// (now()), so hosts need no synchronised clocks; a holder that dies is replaced once its lease runs out.
// A lease bounds who runs the job, it does not fence it: a holder stalled past its lease may overlap its
// successor for a moment, so jobs behind a lease must stay safe to run twice (the hold sweeper is).

export class LeaderLease {
  /** Who this process is in leader_leases.holder (host, pid and a random part: two apps in one process differ). */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private leaderUntil = 0;

  constructor(
    private readonly db: Db,
    private readonly name: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lease if it is free or expired, renews it if this process holds it; true while it is ours.
   * Concurrent callers on any number of hosts: the row's lock lets one statement at a time decide, and the
   * WHERE is re-checked on the newest row, so exactly one of them gets it.
   */
  async tryLead(): Promise<boolean> {
    // Measured before sending: the database's expiry (its now() + ttl) is never earlier than ours.
    const sentAt = Date.now();
    const rows = await queryRows<{ holder: string }>(
      this.db,
      sql`INSERT INTO leader_leases (name, holder, expires_at)
          VALUES (${this.name}, ${this.holder}, now() + make_interval(secs => ${this.ttlMs / 1000}))
          ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
          WHERE leader_leases.holder = EXCLUDED.holder OR leader_leases.expires_at <= now()
          RETURNING holder`,
    );
    this.leaderUntil = rows.length > 0 ? sentAt + this.ttlMs : 0;
    return this.isLeader();
  }

  /** Whether this process held the lease at its last tryLead and the lease has not run out since. */
  isLeader(): boolean {
    return Date.now() < this.leaderUntil;
  }

  /** Gives the lease up (on shutdown), so another process takes over at once instead of after the ttl. */
  async release(): Promise<void> {
    this.leaderUntil = 0;
    await this.db.execute(sql`DELETE FROM leader_leases WHERE name = ${this.name} AND holder = ${this.holder}`);
  }
}

/** A background job run by one process at a time: what it has done, and how to stop it. */
export interface LeasedJob {
  readonly lease: LeaderLease;
  /** Runs this process made as the lease holder. */
  runs: number;
  /** No run starts after this; resolves when the one running (if any) has finished and the lease is let go. */
  stop(): Promise<void>;
}

/**
 * Runs `job` every `intervalMs` in the background (unref'd: never keeps the process alive), in the holder of
 * the lease `name` only. One run at a time: a slow one is not stacked on. A failed run is handed to
 * `onError` and tried again at the next tick. The lease lasts three ticks: a leader renews twice before it
 * could lapse, and a dead one is replaced within three.
 */
export function startLeasedJob(db: Db, name: string, intervalMs: number, job: () => Promise<void>, onError: (error: unknown) => void): LeasedJob {
  let running: Promise<void> | undefined;
  const tick = async () => {
    if (!(await leased.lease.tryLead())) return;
    leased.runs++;
    await job();
  };
  const timer = setInterval(() => {
    running ??= tick()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  const leased: LeasedJob = {
    lease: new LeaderLease(db, name, 3 * intervalMs),
    runs: 0,
    async stop() {
      clearInterval(timer);
      await running;
      if (leased.lease.isLeader()) await leased.lease.release().catch(() => undefined);
    },
  };
  return leased;
}
