import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

/**
 * Each user's token version, which a password change or a logout bumps to revoke every earlier token.
 * Checked on every authenticated request, so it is made cheap: versions are cached for `ttlMs`, and the
 * users whose versions are needed in the same tick are read in ONE query. The process that bumps a
 * version knows at once; other processes within `ttlMs`.
 */
export class TokenVersions {
  private readonly cache = new Map<number, { version: number | null; until: number }>();
  private waiting = new Map<number, { resolve(version: number | null): void; reject(error: unknown): void }[]>();
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** The user's current version, or null when the user no longer exists. */
  current(userId: number): Promise<number | null> {
    const cached = this.cache.get(userId);
    if (cached && cached.until > Date.now()) return Promise.resolve(cached.version);
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
      sql`UPDATE users SET token_version = token_version + 1 WHERE id = ${userId} RETURNING token_version`,
    );
    const version = rows[0]?.token_version ?? null;
    this.cache.set(userId, { version, until: Date.now() + this.ttlMs });
    return version ?? 0;
  }

  /** Drops the cached version, after a change made outside bump(). */
  forget(userId: number): void {
    this.cache.delete(userId);
  }

  private async load(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    const ids = [...batch.keys()];
    try {
      const rows = await queryRows<{ id: number; token_version: number }>(
        this.db,
        sql`SELECT id, token_version FROM users WHERE id = ANY(${`{${ids.join(',')}}`}::int[])`,
      );
      const found = new Map(rows.map((row) => [row.id, row.token_version]));
      const until = Date.now() + this.ttlMs;
      if (this.cache.size > 100_000) this.cache.clear();
      for (const [id, waiters] of batch) {
        const version = found.get(id) ?? null;
        this.cache.set(id, { version, until });
        for (const waiter of waiters) waiter.resolve(version);
      }
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }
}
