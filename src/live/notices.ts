import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Database, Db } from '../db/client.js';
import type { NoticeChannel } from '../inventory/sold-out.js';

// Short notices to every server process (the shared sold-out memory), over the transport live seats use:
// Redis pub/sub when REDIS_URL is set, else PostgreSQL NOTIFY with a LISTEN connection of its own. One
// channel for all events: notices are rare (a sell-out, a seat returned). Best effort by design (see
// sold-out.ts): a failure is logged, a dropped LISTEN connection reconnects, missed notices are not replayed.

const CHANNEL = 'bookfast_inventory_notices';
const RECONNECT_DELAY_MS = 1_000;

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
  private client: pg.Client | undefined;
  private heard: ((text: string) => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly url: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  publish(text: string): void {
    if (this.closed) return;
    this.db.execute(sql`SELECT pg_notify(${CHANNEL}, ${text})`).catch((error: unknown) => this.log.warn({ err: error }, 'inventory notices: publish failed'));
  }

  listen(heard: (text: string) => void): void {
    this.heard = heard;
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'bookfast-notices', connectionTimeoutMillis: 5_000, keepAlive: true });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.heard?.(message.payload);
    });
    client.on('error', (error) => this.log.warn({ err: error }, 'inventory notices: LISTEN connection failed'));
    client.on('end', () => this.lost(client));
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'inventory notices: LISTEN failed; retrying');
        void client.end().catch(() => undefined);
        this.lost(client);
      });
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, RECONNECT_DELAY_MS);
    this.retry.unref();
  }
}

class RedisNotices implements ClosableNoticeChannel {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  constructor(url: string, log: FastifyBaseLogger) {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.publisher = new Redis(url, { ...options, connectionName: 'bookfast-notices-pub' });
    this.subscriber = new Redis(url, { ...options, connectionName: 'bookfast-notices-sub' });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: Error) => log.warn({ err: error }, 'inventory notices: redis unavailable'));
    }
  }

  publish(text: string): void {
    this.publisher.publish(CHANNEL, text).catch(() => undefined);
  }

  listen(heard: (text: string) => void): void {
    this.subscriber.on('message', (channel: string, text: string) => channel === CHANNEL && heard(text));
    this.subscriber.subscribe(CHANNEL).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.publisher, this.subscriber].map(async (connection) => {
        if (connection.status === 'wait') connection.disconnect();
        else await connection.quit().catch(() => connection.disconnect());
      }),
    );
  }
}
