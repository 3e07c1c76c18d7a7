import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import { ServiceUnavailable } from '../errors.js';
import type { SeatsBus, SeatsBusSink } from './bus.js';
import { readSeats, type SeatsSnapshot } from './repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Live availability feeds (GET /events/{id}/live); tests read its counts. */
    liveSeats: LiveSeats;
  }
}

/** One client's stream. `send` must be cheap and never throw; `end` closes the stream. */
export interface SeatsWatcher {
  send(snapshot: SeatsSnapshot): void;
  end(): void;
}

interface Feed {
  eventId: number;
  /** The bus subscription; watchers join once it is in place, so no change after it can be missed. */
  listening: Promise<void>;
  /** Waiting for the subscription. */
  joining: Set<SeatsWatcher>;
  /** Subscribed, with the text last sent to each (undefined: nothing yet). */
  watchers: Map<SeatsWatcher, string | undefined>;
  /** Subscribed but not yet sent anything: served by the next read, without waiting for the throttle. */
  fresh: Set<SeatsWatcher>;
  changed: boolean;
  lastBroadcast: number;
  timer: NodeJS.Timeout | undefined;
  reading: boolean;
}

export interface LiveSeatsOptions {
  /** At most one broadcast per event per interval (and one publish per event per process per interval). */
  intervalMs: number;
  log: FastifyBaseLogger;
}

/**
 * Live seat counts per event, for any number of SSE clients in this process, fed by a bus that spans all
 * processes. Bursts are coalesced at both ends: a process publishes a change at most once per interval per
 * event (first at once, the rest in one trailing message), and a listener re-reads the event row at most
 * once per interval per event, for all its clients together, sending only to clients whose numbers changed.
 * The last change of a burst always goes out, so a sell-out always ends at 0.
 */
export class LiveSeats implements SeatsBusSink {
  private readonly feeds = new Map<number, Feed>();
  private readonly outbox = new Map<number, { again: boolean; timer: NodeJS.Timeout }>();
  private readonly bus: SeatsBus;
  private closed = false;

  constructor(
    private readonly db: Db,
    openBus: (sink: SeatsBusSink) => SeatsBus,
    private readonly options: LiveSeatsOptions,
  ) {
    this.bus = openBus(this);
  }

  /** A booking batch, cancellation, capacity change or hold changed this event's seats (after commit). */
  seatsChanged(eventId: number): void {
    if (this.closed) return;
    const pending = this.outbox.get(eventId);
    if (pending) pending.again = true;
    else this.publish(eventId);
  }

  /** Adds a client; it gets the current numbers at once, then every change. Resolves once it is subscribed. */
  async watch(eventId: number, watcher: SeatsWatcher): Promise<void> {
    if (this.closed) throw new ServiceUnavailable('The server is shutting down');
    let feed = this.feeds.get(eventId);
    if (!feed) {
      feed = {
        eventId,
        listening: this.bus.listen(eventId),
        joining: new Set(),
        watchers: new Map(),
        fresh: new Set(),
        changed: false,
        lastBroadcast: 0,
        timer: undefined,
        reading: false,
      };
      this.feeds.set(eventId, feed);
    }
    feed.joining.add(watcher);
    try {
      await feed.listening;
    } catch (error) {
      this.unwatch(eventId, watcher);
      throw error;
    }
    // It left while we subscribed.
    if (!feed.joining.delete(watcher) || this.feeds.get(eventId) !== feed) return;
    feed.watchers.set(watcher, undefined);
    feed.fresh.add(watcher);
    this.pump(feed);
  }

  /** Removes a client; the last one of an event unsubscribes its channel. Safe to call twice. */
  unwatch(eventId: number, watcher: SeatsWatcher): void {
    const feed = this.feeds.get(eventId);
    if (!feed) return;
    feed.joining.delete(watcher);
    feed.watchers.delete(watcher);
    feed.fresh.delete(watcher);
    if (feed.joining.size > 0 || feed.watchers.size > 0) return;
    clearTimeout(feed.timer);
    this.feeds.delete(eventId);
    this.bus.unlisten(eventId).catch((error: unknown) => this.options.log.warn({ err: error }, 'live seats: unlisten failed'));
  }

  changed(eventId: number): void {
    const feed = this.feeds.get(eventId);
    if (!feed) return;
    feed.changed = true;
    this.pump(feed);
  }

  resync(): void {
    for (const feed of this.feeds.values()) this.changed(feed.eventId);
  }

  /** Events watched, clients connected, and bus channels held by this process. */
  counts(): { events: number; watchers: number; channels: number } {
    let watchers = 0;
    for (const feed of this.feeds.values()) watchers += feed.joining.size + feed.watchers.size;
    return { events: this.feeds.size, watchers, channels: this.bus.channelCount() };
  }

  /** Ends every stream (so the server can close) and leaves the bus. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.outbox.values()) clearTimeout(pending.timer);
    this.outbox.clear();
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    for (const feed of feeds) {
      clearTimeout(feed.timer);
      for (const watcher of [...feed.joining, ...feed.watchers.keys()]) watcher.end();
    }
    await this.bus.close();
  }

  private publish(eventId: number): void {
    const pending = {
      again: false,
      timer: setTimeout(() => {
        this.outbox.delete(eventId);
        if (pending.again) this.publish(eventId);
      }, this.options.intervalMs),
    };
    this.outbox.set(eventId, pending);
    this.bus.publish(eventId).catch((error: unknown) => this.options.log.warn({ err: error }, 'live seats: publish failed'));
  }

  // One read at a time per event, so what clients see is in the order it happened.
  private pump(feed: Feed): void {
    if (feed.reading || this.feeds.get(feed.eventId) !== feed) return;
    const now = Date.now();
    const wait = feed.lastBroadcast + this.options.intervalMs - now;
    const broadcast = feed.changed && wait <= 0;
    if (!broadcast && feed.fresh.size === 0) {
      if (feed.changed && !feed.timer) {
        feed.timer = setTimeout(() => {
          feed.timer = undefined;
          this.pump(feed);
        }, wait);
      }
      return;
    }
    // Only clients subscribed before this read starts may be served by it.
    const targets = broadcast ? [...feed.watchers.keys()] : [...feed.fresh];
    feed.fresh.clear();
    if (broadcast) {
      feed.changed = false;
      feed.lastBroadcast = now;
    }
    feed.reading = true;
    void this.readAndSend(feed, targets)
      .catch((error: unknown) => this.options.log.error({ err: error }, 'live seats: sending failed'))
      .finally(() => {
        feed.reading = false;
        this.pump(feed);
      });
  }

  private async readAndSend(feed: Feed, targets: SeatsWatcher[]): Promise<void> {
    let snapshot: SeatsSnapshot | null;
    try {
      snapshot = await readSeats(this.db, feed.eventId);
    } catch (error) {
      // Try again after an interval; clients not served yet are served by that broadcast.
      this.options.log.warn({ err: error }, 'live seats: reading the event failed');
      feed.changed = true;
      feed.lastBroadcast = Date.now();
      return;
    }
    if (!snapshot) {
      // The event was deleted: nothing more will come.
      for (const watcher of [...feed.joining, ...feed.watchers.keys()]) watcher.end();
      return;
    }
    const text = JSON.stringify(snapshot);
    for (const watcher of targets) {
      if (!feed.watchers.has(watcher) || feed.watchers.get(watcher) === text) continue;
      feed.watchers.set(watcher, text);
      watcher.send(snapshot);
    }
  }
}
