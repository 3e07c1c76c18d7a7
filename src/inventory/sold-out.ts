import { randomUUID } from 'node:crypto';
import { ExpiringMarks } from './expiring-marks.js';
import type { SeatChanges } from './seat-changes.js';

/**
 * The way notices reach the other processes and hosts (PostgreSQL NOTIFY or Redis: live/notices.ts), best
 * effort: a lost notice costs one statement, or a stale "sold out" until its TTL, never a wrong answer.
 */
export interface NoticeChannel {
  /** Starts delivering other processes' notices to `heard` (called once, on first use). */
  listen(heard: (text: string) => void): void;
  publish(text: string): void;
}

export interface SoldOutOptions {
  /** How long "sold out" is trusted without asking the database again, wherever it was learnt. */
  ttlMs: number;
  /** Absent: this process keeps its memory to itself (the embedded database, tests). */
  share?: NoticeChannel;
}

/**
 * "Event N is sold out", remembered for ttlMs so buyers are refused without a statement: only a hint that
 * refuses early, correctness stays with the row lock. It learns from batches that found no seat left
 * (SeatChanges.soldOut) in this process and, through the notice channel, in every other one; seats returned
 * anywhere (SeatChanges.seatsReturned) clear it everywhere the same way. A notice never extends a mark past
 * ttlMs from when it arrived. Notices of two processes may cross (a "returned" overtaking an earlier "sold
 * out"): the stale mark then lasts at most its TTL, as it would have without sharing.
 */
export class SoldOutMemory {
  private readonly marks = new ExpiringMarks();
  // Our own notices come back to us over PostgreSQL: skip them (an old "returned" must not clear a new mark).
  private readonly sender = randomUUID().slice(0, 8);
  private listening = false;

  constructor(
    changes: SeatChanges,
    private readonly options: SoldOutOptions,
  ) {
    changes.on('soldOut', (eventId) => this.learnt(eventId));
    changes.on('returned', (eventId) => this.forget(eventId));
  }

  /** Sold out, as far as this process knows (ask before queueing a buyer). */
  has(eventId: number): boolean {
    this.listen();
    return this.marks.has(eventId);
  }

  private learnt(eventId: number): void {
    const until = Date.now() + this.options.ttlMs;
    // A fresh mark is already known everywhere: no notice per batch while the last buyers are refused.
    const known = this.marks.expiresIn(eventId) > this.options.ttlMs / 2;
    this.marks.set(eventId, until);
    if (!known) this.options.share?.publish(`${this.sender} s ${eventId} ${until}`);
  }

  private forget(eventId: number): void {
    this.marks.delete(eventId);
    this.options.share?.publish(`${this.sender} r ${eventId}`);
  }

  private listen(): void {
    if (this.listening || !this.options.share) return;
    this.listening = true;
    this.options.share.listen((text) => this.heard(text));
  }

  // "<sender> s <event> <until>" or "<sender> r <event>"; anything else is ignored.
  private heard(text: string): void {
    const [sender, kind, id, until] = text.split(' ');
    const eventId = Number(id);
    if (sender === this.sender || !Number.isSafeInteger(eventId) || eventId <= 0) return;
    if (kind === 'r') this.marks.delete(eventId);
    if (kind === 's') this.marks.set(eventId, Math.min(Number(until) || 0, Date.now() + this.options.ttlMs));
  }
}
