import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

// How long a version read from its row is trusted while the feed runs (and how long a deleted account's
// tokens could pass were its deletion missed): a bound, not the mechanism.
const READ_KEPT_MS = 10 * 60_000;
// Bumps and deletions are read again this far back on every poll: a bump's time is its transaction's start,
// and it may commit a little after a poll that started later. Also the clock skew allowed between hosts.
const DEFAULT_OVERLAP_MS = 30_000;

export interface TokenVersionsOptions {
  /** TOKEN_VERSION_CACHE_MS: a revocation elsewhere is seen within it (0: every check reads the row). */
  ttlMs: number;
  /** How long a token lives: older changes cannot matter and are forgotten. */
  tokenLifetimeMs: number;
  overlapMs?: number;
}

interface Change {
  /** The version after the bump; null: the account was deleted. */
  version: number | null;
  /** Date.now() when this process learnt it. */
  at: number;
}

interface Entry {
  version: number | null;
  /** Date.now() when the version was read from its row. */
  loadedAt: number;
}

/**
 * Whether a token's version is still its user's, which a password change or a logout bumps to revoke every
 * earlier token. Checked on every authenticated request, so it is made cheap, whatever the crowd:
 * - the feed: every `ttlMs / 2` one indexed query reads the bumps (`users.token_revoked_at`) and account
 *   deletions (`users_deleted`, by trigger) since the last poll, from every process and host;
 * - a token issued after the feed started watching is judged from the feed alone (was its user bumped past
 *   its version, or deleted?): no query, so a crowd of first-time buyers costs nothing;
 * - an older token (issued before this process started, say) is judged from its user's row, read once (the
 *   users needed in one tick in ONE query) and kept current by the feed;
 * - when the feed fails (the database is unreachable), rows are read again each `ttlMs`, as before it existed.
 * A revocation on any process or host is seen here within `ttlMs`.
 */
export class TokenVersions {
  private readonly cache = new Map<number, Entry>();
  /** What the feed reported (and this process's own bumps), kept for as long as a token can live. */
  private readonly changes = new Map<number, Change>();
  private waiting = new Map<number, { resolve(version: number | null): void; reject(error: unknown): void }[]>();
  private scheduled = false;
  /** Date.now() at the start of the first and of the latest poll that answered, and the latter's database time. */
  private feed: { firstAt: number; lastAt: number; dbTime: Date } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  private readonly ttlMs: number;
  private readonly tokenLifetimeMs: number;
  private readonly overlapMs: number;

  constructor(
    private readonly db: Db,
    options: TokenVersionsOptions,
  ) {
    this.ttlMs = options.ttlMs;
    this.tokenLifetimeMs = options.tokenLifetimeMs;
    this.overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
    const ttlMs = this.ttlMs;
    if (ttlMs > 0) {
      this.timer = setInterval(() => void this.poll(), Math.max(ttlMs / 2, 10));
      this.timer.unref();
      void this.poll();
    }
  }

  /** Whether a token with `version`, issued at `issuedAt` (seconds, its `iat`), is still valid for the user. */
  async isCurrent(userId: number, version: number, issuedAt: number): Promise<boolean> {
    const now = Date.now();
    const feed = this.feed;
    if (feed && now - feed.lastAt < this.ttlMs && issuedAt * 1000 >= feed.firstAt + this.overlapMs) {
      // Every bump or deletion since the token was issued is in `changes`.
      const change = this.changes.get(userId);
      return change === undefined || (change.version !== null && change.version <= version);
    }
    return (await this.current(userId)) === version;
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
    this.learn(userId, version);
    return version ?? 0;
  }

  /** This process changed the user's version outside bump() (a password change): it knows the new one. */
  changed(userId: number, version: number): void {
    this.learn(userId, version);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private learn(userId: number, version: number | null): void {
    const now = Date.now();
    const known = this.changes.get(userId);
    // Versions only grow, and a deletion is final: a poll that read the row before a newer change must not undo it.
    if (known && (known.version === null || (version !== null && version < known.version))) return;
    this.changes.set(userId, { version, at: now });
    const entry = this.cache.get(userId);
    if (entry && entry.version !== null && (version === null || version > entry.version)) entry.version = version;
  }

  private trusted(entry: Entry): boolean {
    const now = Date.now();
    if (now - entry.loadedAt < this.ttlMs) return true;
    // The feed is current and has watched since before this version was read.
    const feed = this.feed;
    return now - entry.loadedAt < READ_KEPT_MS && feed !== undefined && now - feed.lastAt < this.ttlMs && entry.loadedAt >= feed.firstAt;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const startedAt = Date.now();
    try {
      const since = this.feed ? new Date(this.feed.dbTime.getTime() - this.overlapMs).toISOString() : null;
      const rows = await queryRows<{ id: number | null; version: number | null; db_time: Date | string }>(
        this.db,
        since === null
          ? sql`SELECT NULL::int AS id, NULL::int AS version, now() AS db_time`
          : sql`SELECT c.id, c.version, t.now AS db_time FROM (SELECT now()) t LEFT JOIN (
                  SELECT id, token_version AS version FROM users WHERE token_revoked_at > ${since}::timestamptz
                  UNION ALL SELECT user_id, NULL FROM users_deleted WHERE deleted_at > ${since}::timestamptz
                ) c ON true`,
      );
      for (const row of rows) if (row.id !== null) this.learn(row.id, row.version);
      this.feed = { firstAt: this.feed?.firstAt ?? startedAt, lastAt: startedAt, dbTime: new Date(rows[0]!.db_time) };
      this.forgetOld(startedAt);
    } catch {
      // Versions read in the last ttlMs are still trusted; the others are read again until a poll answers.
    } finally {
      this.polling = false;
    }
  }

  private forgetOld(now: number): void {
    for (const [id, change] of this.changes) if (now - change.at > this.tokenLifetimeMs + this.overlapMs) this.changes.delete(id);
    if (this.cache.size < 100_000) return;
    for (const [id, entry] of this.cache) if (now - entry.loadedAt >= READ_KEPT_MS) this.cache.delete(id);
  }

  private async load(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    const ids = [...batch.keys()];
    // Taken before the read: a poll that started earlier may have missed a bump that this read sees.
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
