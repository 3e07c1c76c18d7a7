import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../db/client.js';
import { PgListener, RedisPair } from './transport.js';

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

/** NOTIFY goes through the pool; LISTEN through a connection of its own (PgListener, in transport.ts). */
export class PostgresSeatsBus implements SeatsBus {
  private readonly listener: PgListener;
  private closed = false;

  constructor(
    private readonly db: Db,
    url: string,
    sink: SeatsBusSink,
    log: FastifyBaseLogger,
  ) {
    this.listener = new PgListener({
      url,
      name: 'bookfast-live',
      label: 'live seats',
      log,
      onNotification: (channel) => {
        const eventId = eventIdIn(channel, PG_CHANNEL_PREFIX);
        if (eventId !== null) sink.changed(eventId);
      },
      // Re-read everything watched: changes told while nothing listened were missed.
      onRestored: () => sink.resync(),
    });
  }

  async publish(eventId: number): Promise<void> {
    if (this.closed) return;
    await this.db.execute(sql`SELECT pg_notify(${PG_CHANNEL_PREFIX + eventId}, '')`);
  }

  listen(eventId: number): Promise<void> {
    return this.listener.want(PG_CHANNEL_PREFIX + eventId);
  }

  unlisten(eventId: number): Promise<void> {
    return this.listener.unwant(PG_CHANNEL_PREFIX + eventId);
  }

  channelCount(): number {
    return this.listener.listeningCount();
  }

  close(): Promise<void> {
    this.closed = true;
    return this.listener.close();
  }
}

/** Redis pub/sub, for deployments that already run Redis (RedisPair, in transport.ts); after a reconnect we re-read. */
export class RedisSeatsBus implements SeatsBus {
  private readonly redis: RedisPair;
  private readonly channels = new Set<number>();

  constructor(url: string, sink: SeatsBusSink, log: FastifyBaseLogger) {
    this.redis = new RedisPair(url, { name: 'bookfast-live', label: 'live seats', log, onRestored: () => sink.resync() });
    this.redis.subscriber.on('message', (channel: string) => {
      const eventId = eventIdIn(channel, REDIS_CHANNEL_PREFIX);
      if (eventId !== null) sink.changed(eventId);
    });
  }

  async publish(eventId: number): Promise<void> {
    await this.redis.publisher.publish(REDIS_CHANNEL_PREFIX + eventId, '');
  }

  async listen(eventId: number): Promise<void> {
    this.channels.add(eventId);
    await this.redis.subscriber.subscribe(REDIS_CHANNEL_PREFIX + eventId);
  }

  async unlisten(eventId: number): Promise<void> {
    this.channels.delete(eventId);
    await this.redis.subscriber.unsubscribe(REDIS_CHANNEL_PREFIX + eventId);
  }

  channelCount(): number {
    return this.channels.size;
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
