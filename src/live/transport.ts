import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

// The connections that messages between server processes travel over, shared by live seats (bus.ts) and the
// inventory notices (notices.ts): a LISTEN connection of PostgreSQL's, or a Redis publisher and subscriber.

const RECONNECT_DELAY_MS = 1_000;

export interface PgListenerOptions {
  url: string;
  /** application_name of the connection, e.g. 'bookfast-live'. */
  name: string;
  /** Starts each log line, e.g. 'live seats'. */
  label: string;
  log: FastifyBaseLogger;
  onNotification(channel: string, payload: string): void;
  /** The connection was lost (or failed to open) and listens again: messages sent meanwhile were missed. */
  onRestored?(): void;
}

/**
 * A connection of its own that stays open (LISTEN needs a session; the pool's connections come and go),
 * opened when the first channel is wanted. LISTEN/UNLISTEN run one at a time, each bringing the connection in
 * line with the channels wanted right now, so a want and an unwant of one channel racing each other end up
 * right. Lost, or failing to open, it tries again every second while anything is wanted. Channel names are
 * the callers' constants and integers only: nothing a client sends reaches the LISTEN text.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private readonly wanted = new Set<string>();
  private readonly listening = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PgListenerOptions) {}

  /** Resolves once the connection listens on `channel`: nothing NOTIFYed after it can be missed. */
  want(channel: string): Promise<void> {
    this.wanted.add(channel);
    return this.reconcile();
  }

  unwant(channel: string): Promise<void> {
    this.wanted.delete(channel);
    return this.reconcile();
  }

  listeningCount(): number {
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
    this.chain = run.catch((error: unknown) => this.failed(error));
    return run;
  }

  private async applyWanted(): Promise<void> {
    if (this.closed) return;
    if (!this.client) {
      if (this.wanted.size === 0) return;
      this.client = await this.connect();
    }
    const client = this.client;
    for (const channel of [...this.listening]) {
      if (this.wanted.has(channel)) continue;
      await client.query(`UNLISTEN ${channel}`);
      this.listening.delete(channel);
    }
    for (const channel of [...this.wanted]) {
      if (this.listening.has(channel)) continue;
      await client.query(`LISTEN ${channel}`);
      this.listening.add(channel);
    }
  }

  private async connect(): Promise<pg.Client> {
    const { url, name, label, log } = this.options;
    const client = new pg.Client({ connectionString: url, application_name: name, connectionTimeoutMillis: 5_000, keepAlive: true });
    client.on('notification', (message) => this.options.onNotification(message.channel, message.payload ?? ''));
    client.on('error', (error) => log.warn({ err: error }, `${label}: LISTEN connection failed`));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  // A LISTEN or the connection failed: start again from a new connection, after a pause.
  private failed(error: unknown): void {
    this.options.log.warn({ err: error }, `${this.options.label}: LISTEN failed; retrying`);
    const client = this.client;
    this.drop();
    void client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client): void {
    if (this.client === client) this.drop();
  }

  // Nothing listens any more: forget the connection and what it listened to, and try again in a while.
  private drop(): void {
    this.client = undefined;
    this.listening.clear();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.wanted.size === 0 || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      // A failure here is handled by reconcile (failed: another attempt). Messages sent while nothing
      // listened were missed: the owner hears that once the connection listens again.
      this.reconcile().then(
        () => this.options.onRestored?.(),
        () => undefined,
      );
    }, RECONNECT_DELAY_MS);
    this.retry.unref();
  }
}

/**
 * A Redis publisher and a subscriber (a subscribed connection can do nothing else). ioredis reconnects and
 * subscribes again by itself; `onRestored` is called when the subscriber is back after a loss.
 */
export class RedisPair {
  readonly publisher: Redis;
  readonly subscriber: Redis;

  constructor(url: string, { name, label, log, onRestored }: { name: string; label: string; log: FastifyBaseLogger; onRestored?: () => void }) {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.publisher = new Redis(url, { ...options, connectionName: `${name}-pub` });
    this.subscriber = new Redis(url, { ...options, connectionName: `${name}-sub` });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: Error) => log.warn({ err: error }, `${label}: redis unavailable`));
    }
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) onRestored?.();
      connectedBefore = true;
    });
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
