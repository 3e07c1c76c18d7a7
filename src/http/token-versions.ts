import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

// How long a loaded user is trusted to exist (accounts are not deleted through the API; an operator who
// deletes one in SQL sees its tokens refused within this time).
const EXISTS_MS = 10 * 60_000;
// Bumps are read again this far back on every poll: a bump's revoked_at is its transaction's start, and it
// may commit a little after a poll that started later.
const FEED_OVERLAP = sql.raw(`interval '30 seconds'`);

interface Entry {
  version: number | null;
  /** Date.now() when the version was read from the users row (or set by this process's own bump). */
  loadedAt: number;
}

/**
 * Each user's token version, which a password change or a logout bumps to revoke every earlier token.
 * Checked on every authenticated request, so it is made cheap, whatever the number of buyers:
 * - a user's version is read once (the users needed in the same tick in ONE query) and kept;
 * - every `ttlMs / 2` one query reads the bumps since the last one (`users.token_revoked_at`, indexed) and
 *   updates the kept versions: a revocation on any process or host is seen here within `ttlMs`;
 * - a kept version is trusted while that feed is current; when it fails (the database is unreachable), only
 *   versions read in the last `ttlMs` are, as when every version was read again each `ttlMs`.
 * A crowd of 25,600 buyers then costs one read per buyer and process, not one per buyer every `ttlMs`.
 */
export class TokenVersions {
  private readonly cache = new Map<number, Entry>();
  private waiting = new Map<number, { resolve(version: number | null): void; reject(error: unknown): void }[]>();
  private scheduled = false;
  /** Date.now() at the start of the first and of the latest poll that answered; the database time of the latter. */
  private feed: { firstAt: number; lastAt: number; dbTime: Date } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {
    if (ttlMs > 0) {
      this.timer = setInterval(() => void this.poll(), Math.max(ttlMs / 2, 10));
      this.timer.unref();
      void this.poll();
    }
  }

  /** The user's current version, or null when the user no longer exists. */
  current(userId: number): Promise<number | null> {
    const cached = this.cache.get(userId);
    if (cached && this.trusted(cached)) return Promise.resolve(cached.version);
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(userId) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(userId, list);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.load());
      }
    });
  }

  async bump(userId: number): Promise<number> {
    const rows = await queryRows<{ token_version: number }>(
      this.db,
      sql`UPDATE users SET token_version = token_version + 1, token_revoked_at = now() WHERE id = ${userId} RETURNING token_version`,
    );
    const version = rows[0]?.token_version ?? null;
    this.cache.set(userId, { version, loadedAt: Date.now() });
    return version ?? 0;
  }

  /** This process changed the user's version outside bump() (a password change): it knows the new one. */
  changed(userId: number, version: number): void {
    this.cache.set(userId, { version, loadedAt: Date.now() });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private trusted(entry: Entry): boolean {
    const now = Date.now();
    if (now - entry.loadedAt < this.ttlMs) return true;
    // The feed is current and has watched since before this version was read.
    return now - entry.loadedAt < EXISTS_MS && this.feed !== undefined && now - this.feed.lastAt < this.ttlMs && entry.loadedAt >= this.feed.firstAt;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const startedAt = Date.now();
    try {
      const since = this.feed?.dbTime;
      const rows = await queryRows<{ id: number; token_version: number; db_time: Date }>(
        this.db,
        since
          ? sql`SELECT u.id, u.token_version, t.now AS db_time FROM (SELECT now()) t LEFT JOIN users u ON u.token_revoked_at > ${since.toISOString()}::timestamptz - ${FEED_OVERLAP}`
          : sql`SELECT NULL::int AS id, NULL::int AS token_version, now() AS db_time`,
      );
      for (const row of rows) {
        if (row.id === null) continue;
        const entry = this.cache.get(row.id);
        // Only users this process keeps: the others are read when they come.
        // Versions only grow: a poll that read the row before this process's own bump must not undo it.
        if (entry && (entry.version === null || row.token_version > entry.version)) entry.version = row.token_version;
      }
      const dbTime = new Date(rows[0]!.db_time);
      this.feed = { firstAt: this.feed?.firstAt ?? startedAt, lastAt: startedAt, dbTime };
      this.sweep(startedAt);
    } catch {
      // Versions read in the last ttlMs are still trusted; the others are read again until a poll answers.
    } finally {
      this.polling = false;
    }
  }

  private sweep(now: number): void {
    if (this.cache.size < 100_000) return;
    for (const [id, entry] of this.cache) if (now - entry.loadedAt >= EXISTS_MS) this.cache.delete(id);
  }

  private async load(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    const ids = [...batch.keys()];
    // Read after this instant: a poll that started before it may not have seen a bump this read sees.
    const loadedAt = Date.now();
    try {
      const rows = await queryRows<{ id: number; token_version: number }>(
        this.db,
        sql`SELECT id, token_version FROM users WHERE id = ANY(${`{${ids.join(',')}}`}::int[])`,
      );
      const found = new Map(rows.map((row) => [row.id, row.token_version]));
      if (this.cache.size > 200_000) this.cache.clear();
      for (const [id, waiters] of batch) {
        const version = found.get(id) ?? null;
        this.cache.set(id, { version, loadedAt });
        for (const waiter of waiters) waiter.resolve(version);
      }
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }
}
