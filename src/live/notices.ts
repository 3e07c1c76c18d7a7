import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../db/client.js';
import type { NoticeChannel } from '../inventory/sold-out.js';
import { PgListener, RedisPair } from './transport.js';

// Short notices to every server process (the shared sold-out memory), over the transport live seats use
// (transport.ts): Redis pub/sub when REDIS_URL is set, else PostgreSQL NOTIFY with a LISTEN connection of its
// own. One channel for all events: notices are rare (a sell-out, a seat returned). Best effort by design (see
// sold-out.ts): a failure is logged, a dropped LISTEN connection reconnects, missed notices are not replayed.

const CHANNEL = 'bookfast_inventory_notices';
const LABEL = 'inventory notices';

export interface ClosableNoticeChannel extends NoticeChannel {
  close(): Promise<void>;
}

/** Undefined for the embedded database: it serves exactly one process, which already knows. */
export function createNoticeChannel({ database, redisUrl, log }: { database: Database; redisUrl: string | undefined; log: FastifyBaseLogger }): ClosableNoticeChannel | undefined {
  if (redisUrl) return new RedisNotices(redisUrl, log);
  if (database.url) return new PostgresNotices(database.db, database.url, log);
  return undefined;
}

class PostgresNotices implements ClosableNoticeChannel {
  private listener: PgListener | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly url: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  publish(text: string): void {
    if (this.closed) return;
    this.db.execute(sql`SELECT pg_notify(${CHANNEL}, ${text})`).catch((error: unknown) => this.log.warn({ err: error }, `${LABEL}: publish failed`));
  }

  listen(heard: (text: string) => void): void {
    this.listener = new PgListener({
      url: this.url,
      name: 'bookfast-notices',
      label: LABEL,
      log: this.log,
      onNotification: (channel, payload) => channel === CHANNEL && payload !== '' && heard(payload),
    });
    // A failure is logged and tried again by the listener.
    this.listener.want(CHANNEL).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.close();
  }
}

class RedisNotices implements ClosableNoticeChannel {
  private readonly redis: RedisPair;

  constructor(url: string, log: FastifyBaseLogger) {
    this.redis = new RedisPair(url, { name: 'bookfast-notices', label: LABEL, log });
  }

  publish(text: string): void {
    this.redis.publisher.publish(CHANNEL, text).catch(() => undefined);
  }

  listen(heard: (text: string) => void): void {
    this.redis.subscriber.on('message', (channel: string, text: string) => channel === CHANNEL && heard(text));
    this.redis.subscriber.subscribe(CHANNEL).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
