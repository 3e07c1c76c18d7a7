import type { Redis } from 'ioredis';

/**
 * Counts failed logins per account over a window, so a credential stuffer spread over many addresses still
 * gets only `limit` guesses at one account. In memory per process, or shared through Redis when configured.
 */
export interface LoginThrottle {
  /** Seconds until the account may try again, or 0 when it may try now. */
  retryAfter(account: string): Promise<number>;
  recordFailure(account: string): Promise<void>;
  reset(account: string): Promise<void>;
}

export function memoryLoginThrottle(limit: number, windowMs: number): LoginThrottle {
  const failures = new Map<string, { count: number; resetAt: number }>();
  const entry = (account: string) => {
    const now = Date.now();
    const found = failures.get(account);
    if (found && found.resetAt > now) return found;
    if (failures.size > 100_000) for (const [key, value] of failures) if (value.resetAt <= now) failures.delete(key);
    const fresh = { count: 0, resetAt: now + windowMs };
    failures.set(account, fresh);
    return fresh;
  };
  return {
    retryAfter: (account) => {
      const found = entry(account);
      return Promise.resolve(found.count >= limit ? Math.ceil((found.resetAt - Date.now()) / 1000) : 0);
    },
    recordFailure: (account) => {
      entry(account).count++;
      return Promise.resolve();
    },
    reset: (account) => {
      failures.delete(account);
      return Promise.resolve();
    },
  };
}

export function redisLoginThrottle(redis: Redis, limit: number, windowMs: number): LoginThrottle {
  const key = (account: string) => `bookfast:login-failures:${account}`;
  return {
    async retryAfter(account) {
      const [count, ttl] = await Promise.all([redis.get(key(account)), redis.pttl(key(account))]);
      return Number(count ?? 0) >= limit && ttl > 0 ? Math.ceil(ttl / 1000) : 0;
    },
    async recordFailure(account) {
      // The window starts at the first failure: NX leaves an existing expiry alone.
      await redis.multi().incr(key(account)).pexpire(key(account), windowMs, 'NX').exec();
    },
    async reset(account) {
      await redis.del(key(account));
    },
  };
}
