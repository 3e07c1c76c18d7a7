/**
 * What the inventory tells the rest of this process, after the commit that did it: a small typed channel.
 * Services and batchers publish; live seats, the waiting-list promoter, the sold-out memory and metrics
 * subscribe (wired once in app.ts). Nothing here crosses processes (see sold-out.ts and live/bus.ts for that).
 * Listeners run synchronously in the publisher's call, so they must be cheap; one that throws is reported
 * through onListenerError and never reaches the publisher or the other listeners.
 */

export interface BatchReport {
  eventId: number;
  /** Buyers in the batch. */
  size: number;
  booked: number;
  soldOut: number;
  /** The statement failed or its outcome is unknown: nobody was booked. */
  failed: boolean;
  /** Time the statement took, row-lock wait included. */
  seconds: number;
  /** Time the oldest buyer of the batch waited in memory before it was sent. */
  waitedSeconds: number;
}

export interface SeatChangeEvents {
  /** A commit changed the event's seats (sold, held, confirmed, deleted): live clients re-read it. */
  changed: number;
  /** A commit gave seats back (cancel, expiry, more capacity, a place left): "sold out" is void, the line's turn. */
  returned: number;
  /** A batch found no seat left for some of its buyers. */
  soldOut: number;
  /** The owner set or removed the event's per-buyer limit. */
  limitChanged: number;
  /** A booking batch settled (metrics). */
  batchDone: BatchReport;
  /** A buyer was told "sold out" from memory, without a statement (metrics). */
  refusedFromMemory: number;
}

type Listener<K extends keyof SeatChangeEvents> = (payload: SeatChangeEvents[K]) => void;

export class SeatChanges {
  private readonly listeners: { [K in keyof SeatChangeEvents]: Listener<K>[] } = {
    changed: [],
    returned: [],
    soldOut: [],
    limitChanged: [],
    batchDone: [],
    refusedFromMemory: [],
  };

  constructor(private readonly onListenerError: (error: unknown) => void = () => undefined) {}

  /** Subscribes; returns the unsubscribe. */
  on<K extends keyof SeatChangeEvents>(kind: K, listener: Listener<K>): () => void {
    const list = this.listeners[kind] as Listener<K>[];
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  seatsChanged(eventId: number): void {
    this.emit('changed', eventId);
  }

  /** Seats came back; implies seatsChanged. */
  seatsReturned(eventId: number): void {
    this.emit('returned', eventId);
    this.emit('changed', eventId);
  }

  soldOut(eventId: number): void {
    this.emit('soldOut', eventId);
  }

  perUserLimitChanged(eventId: number): void {
    this.emit('limitChanged', eventId);
  }

  batchDone(report: BatchReport): void {
    this.emit('batchDone', report);
  }

  refusedFromMemory(eventId: number): void {
    this.emit('refusedFromMemory', eventId);
  }

  private emit<K extends keyof SeatChangeEvents>(kind: K, payload: SeatChangeEvents[K]): void {
    for (const listener of this.listeners[kind] as Listener<K>[]) {
      try {
        listener(payload);
      } catch (error) {
        // A listener's fault (metrics, live) must never cost a buyer the answer.
        this.onListenerError(error);
      }
    }
  }
}
