/**
 * Per-event marks that expire ("sold out until", "has a per-buyer limit until"): a speed hint, never a
 * source of truth. Expired marks are dropped when read, and swept when many pile up, so events that are
 * never asked about again cost no memory for long.
 */
export class ExpiringMarks {
  private readonly until = new Map<number, number>();

  /** Marks `eventId` until the given Date.now() time; an earlier time never shortens a later mark. */
  set(eventId: number, untilMs: number): void {
    if ((this.until.get(eventId) ?? 0) >= untilMs) return;
    if (this.until.size >= 1024) this.sweep();
    this.until.set(eventId, untilMs);
  }

  has(eventId: number): boolean {
    const until = this.until.get(eventId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(eventId);
    return false;
  }

  /** Milliseconds until the mark expires (0 when there is none). */
  expiresIn(eventId: number): number {
    return Math.max((this.until.get(eventId) ?? 0) - Date.now(), 0);
  }

  delete(eventId: number): void {
    this.until.delete(eventId);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [eventId, until] of this.until) if (until <= now) this.until.delete(eventId);
  }
}
