import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import type { EventStream } from '../http/sse.js';
import type { StreamSession } from './pass.js';
import { findEntriesWithRoom } from './repository.js';
import type { WaitingRoomRuntime } from './runtime.js';
import type { QueueEntryOut } from './schemas.js';
import { toEntryOut } from './service.js';

export interface QueueStreamsOptions {
  /** Whether the login a stream was opened under still stands: a logout or a password change ends the stream. */
  sessionCurrent(session: StreamSession): Promise<boolean>;
  log: FastifyBaseLogger;
}

interface Watcher {
  session: StreamSession;
  /** Date.now() past which the stream token is expired: the stream ends then. */
  endsAtMs: number;
  stream: EventStream;
  /** The last message sent, as JSON: an unchanged place is not sent again. */
  last: string;
}

/** After one of these a place no longer changes: its stream ends. */
export const FINAL_STATUSES = new Set<QueueEntryOut['status']>(['expired', 'abandoned', 'closed']);

/**
 * The open queue streams of this process, by room. After every tick, ONE read per room that has streams (the
 * room and its watchers' places) is fanned out to them: 2,000 streams of one room cost one query per tick, not
 * 2,000 (each stream read its own place every tick, and took the database from 19 to ~4,450 transactions/s).
 */
export class QueueStreams {
  private readonly rooms = new Map<number, Set<Watcher>>();
  private running = false;
  private readonly stopTicks: () => void;

  constructor(
    private readonly db: Db,
    private readonly runtime: WaitingRoomRuntime,
    private readonly options: QueueStreamsOptions,
  ) {
    this.stopTicks = runtime.onTick(() => void this.fanOut());
  }

  /** Watches `stream` for the buyer of `session`, whose first message (`first`) was already sent. */
  add(eventId: number, session: StreamSession, endsAtMs: number, stream: EventStream, first: QueueEntryOut): void {
    const watcher: Watcher = { session, endsAtMs, stream, last: JSON.stringify(first) };
    let watchers = this.rooms.get(eventId);
    if (!watchers) this.rooms.set(eventId, (watchers = new Set()));
    watchers.add(watcher);
    stream.onClose(() => {
      watchers.delete(watcher);
      if (watchers.size === 0 && this.rooms.get(eventId) === watchers) this.rooms.delete(eventId);
    });
  }

  /** Ends every stream and stops listening to ticks (the server is closing). */
  close(): void {
    this.stopTicks();
    for (const watchers of [...this.rooms.values()]) for (const watcher of [...watchers]) watcher.stream.end();
  }

  // One fan-out at a time: a tick that comes while the last one still reads is skipped, not stacked on.
  private async fanOut(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const [eventId, watchers] of [...this.rooms]) {
        await this.fanOutRoom(eventId, [...watchers]).catch((error: unknown) => {
          // EventSource reconnects by itself (with a fresh token); a stream left open here would go stale.
          this.options.log.warn({ err: error, event_id: eventId }, 'queue streams: could not read the room; its streams end');
          for (const watcher of watchers) watcher.stream.end();
        });
      }
    } finally {
      this.running = false;
    }
  }

  private async fanOutRoom(eventId: number, watchers: Watcher[]): Promise<void> {
    const nowMs = Date.now();
    const current = await Promise.all(watchers.map((watcher) => (watcher.endsAtMs > nowMs ? this.options.sessionCurrent(watcher.session) : Promise.resolve(false))));
    const live = watchers.filter((watcher, i) => {
      if (!current[i]) watcher.stream.end();
      return current[i];
    });
    if (live.length === 0) return;
    const found = await findEntriesWithRoom(this.db, eventId, [...new Set(live.map((watcher) => watcher.session.userId))]);
    const byUser = new Map(found?.entries.map((entry) => [entry.user_id, entry]));
    for (const watcher of live) {
      const entry = byUser.get(watcher.session.userId);
      // The room was deleted, or the place with it: nothing left to follow.
      if (!found || !entry) {
        watcher.stream.end();
        continue;
      }
      // An open stream counts as polling.
      if (entry.status === 'waiting') this.runtime.seen(eventId, entry.user_id, nowMs);
      const out = toEntryOut(this.runtime, found.room, entry, nowMs);
      const text = JSON.stringify(out);
      if (text !== watcher.last) watcher.stream.send(out);
      watcher.last = text;
      if (FINAL_STATUSES.has(out.status)) watcher.stream.end();
    }
  }
}
