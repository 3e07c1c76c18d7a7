import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Database, Db } from '../db/client.js';

// "Event N's seats changed", told to every server process. The message carries no numbers: a listener
// re-reads the event row, so a lost or duplicated message can never show a wrong count, only a late one.
// One channel per event, so a process hears only about the events its clients are watching.

export interface SeatsBus {
  /** Tells every process (this one included) that the seats of this event changed. */
  publish(eventId: number): Promise<void>;
  /** Starts hearing about this event; resolves once nothing published after it can be missed. */
  listen(eventId: number): Promise<void>;
  unlisten(eventId: number): Promise<void>;
  /** Channels this process is subscribed to. */
  channelCount(): number;
  close(): Promise<void>;
}

/** What a bus tells its owner. */
export interface SeatsBusSink {
  changed(eventId: number): void;
  /** The bus reconnected and may have missed messages: re-read everything watched. */
  resync(): void;
}

export interface SeatsBusOptions {
  database: Database;
  redisUrl: string | undefined;
  log: FastifyBaseLogger;
}

/** Redis pub/sub when REDIS_URL is set; else PostgreSQL LISTEN/NOTIFY (on a session connection); in-process for the embedded database. */
export function createSeatsBus(sink: SeatsBusSink, { database, redisUrl, log }: SeatsBusOptions): SeatsBus {
  if (redisUrl) return new RedisSeatsBus(redisUrl, sink, log);
  if (database.url) return new PostgresSeatsBus(database.db, database.url, sink, log);
  // The embedded database serves exactly one process, so this process is everyone to tell.
  if (database.kind === 'pglite') return new LocalSeatsBus(sink);
  // Behind a transaction-mode pooler LISTEN would land on a shared server connection (config.ts refuses this).
  throw new Error('live seats need REDIS_URL or DATABASE_DIRECT_URL when DATABASE_URL is a transaction-mode pooler');
}

const PG_CHANNEL_PREFIX = 'event_seats_';
const REDIS_CHANNEL_PREFIX = 'bookfast:event_seats:';
const RECONNECT_DELAY_MS = 1_000;

function eventIdIn(channel: string, prefix: string): number | null {
  if (!channel.startsWith(prefix)) return null;
  const id = Number(channel.slice(prefix.length));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export class LocalSeatsBus implements SeatsBus {
  private readonly channels = new Set<number>();

  constructor(private readonly sink: SeatsBusSink) {}

  publish(eventId: number): Promise<void> {
    if (this.channels.has(eventId)) this.sink.changed(eventId);
    return Promise.resolve();
  }

  listen(eventId: number): Promise<void> {
    this.channels.add(eventId);
    return Promise.resolve();
  }

  unlisten(eventId: number): Promise<void> {
    this.channels.delete(eventId);
    return Promise.resolve();
  }

  channelCount(): number {
    return this.channels.size;
  }

  close(): Promise<void> {
    this.channels.clear();
    return Promise.resolve();
  }
}

/**
 * NOTIFY goes through the pool; LISTEN needs a connection of its own that stays open, opened when the
 * first event is watched. LISTEN/UNLISTEN run one at a time, each bringing the connection in line with
 * the events wanted right now, so a watch and an unwatch of one event racing each other end up right.
 */
export class PostgresSeatsBus implements SeatsBus {
  private client: pg.Client | undefined;
  private readonly wanted = new Set<number>();
  private readonly listening = new Set<number>();
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly url: string,
    private readonly sink: SeatsBusSink,
    private readonly log: FastifyBaseLogger,
  ) {}

  async publish(eventId: number): Promise<void> {
    if (this.closed) return;
    await this.db.execute(sql`SELECT pg_notify(${PG_CHANNEL_PREFIX + eventId}, '')`);
  }

  listen(eventId: number): Promise<void> {
    this.wanted.add(eventId);
    return this.reconcile();
  }

  unlisten(eventId: number): Promise<void> {
    this.wanted.delete(eventId);
    return this.reconcile();
  }

  channelCount(): number {
    return this.listening.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.chain;
    const client = this.client;
    this.client = undefined;
    this.listening.clear();
    await client?.end().catch(() => undefined);
  }

  private reconcile(): Promise<void> {
    const run = this.chain.then(() => this.applyWanted());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyWanted(): Promise<void> {
    if (this.closed) return;
    if (!this.client) {
      if (this.wanted.size === 0) return;
      this.client = await this.connect();
    }
    const client = this.client;
    // Channel names are built from integers only: nothing a client sends reaches this text.
    for (const eventId of [...this.listening]) {
      if (this.wanted.has(eventId)) continue;
      await client.query(`UNLISTEN ${PG_CHANNEL_PREFIX}${eventId}`);
      this.listening.delete(eventId);
    }
    for (const eventId of [...this.wanted]) {
      if (this.listening.has(eventId)) continue;
      await client.query(`LISTEN ${PG_CHANNEL_PREFIX}${eventId}`);
      this.listening.add(eventId);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'bookfast-live', connectionTimeoutMillis: 5_000, keepAlive: true });
    client.on('notification', (message) => {
      const eventId = eventIdIn(message.channel, PG_CHANNEL_PREFIX);
      if (eventId !== null) this.sink.changed(eventId);
    });
    client.on('error', (error) => this.log.warn({ err: error }, 'live seats: LISTEN connection failed'));
    client.on('end', () => this.lost(client));
    await client.connect();
    return client;
  }

  // The LISTEN connection dropped: reconnect while anything is watched, then re-read what we may have missed.
  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening.clear();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.wanted.size === 0 || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.reconcile().then(
        () => this.sink.resync(),
        (error: unknown) => {
          this.log.warn({ err: error }, 'live seats: reconnecting LISTEN failed; retrying');
          this.client?.end().catch(() => undefined);
          this.client = undefined;
          this.listening.clear();
          this.scheduleReconnect();
        },
      );
    }, RECONNECT_DELAY_MS);
  }
}

/**
 * Redis pub/sub, for deployments that already run Redis: a subscriber connection (which can do nothing
 * else) and a publisher. ioredis reconnects and re-subscribes by itself; after a reconnect we re-read.
 */
export class RedisSeatsBus implements SeatsBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Set<number>();

  constructor(url: string, sink: SeatsBusSink, log: FastifyBaseLogger) {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.publisher = new Redis(url, { ...options, connectionName: 'bookfast-live-pub' });
    this.subscriber = new Redis(url, { ...options, connectionName: 'bookfast-live-sub' });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: Error) => log.warn({ err: error }, 'live seats: redis unavailable'));
    }
    this.subscriber.on('message', (channel: string) => {
      const eventId = eventIdIn(channel, REDIS_CHANNEL_PREFIX);
      if (eventId !== null) sink.changed(eventId);
    });
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) sink.resync();
      connectedBefore = true;
    });
  }

  async publish(eventId: number): Promise<void> {
    await this.publisher.publish(REDIS_CHANNEL_PREFIX + eventId, '');
  }

  async listen(eventId: number): Promise<void> {
    this.channels.add(eventId);
    await this.subscriber.subscribe(REDIS_CHANNEL_PREFIX + eventId);
  }

  async unlisten(eventId: number): Promise<void> {
    this.channels.delete(eventId);
    await this.subscriber.unsubscribe(REDIS_CHANNEL_PREFIX + eventId);
  }

  channelCount(): number {
    return this.channels.size;
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.publisher, this.subscriber].map(async (connection) => {
        // A lazy connection that never connected has nothing to say goodbye to.
        if (connection.status === 'wait') connection.disconnect();
        else await connection.quit().catch(() => connection.disconnect());
      }),
    );
  }
}
