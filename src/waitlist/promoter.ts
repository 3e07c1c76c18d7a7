import type { FastifyBaseLogger } from 'fastify';
import { promoteWaitlist } from '../inventory/returns.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import type { Db } from '../db/client.js';

export interface PromoterOptions {
  log: FastifyBaseLogger;
  /** Told of the holds a promotion created or expired (live availability). */
  changes: SeatChanges;
}

/**
 * Runs promoteWaitlist in the background whenever seats of an event come back (SeatChanges 'returned', announced
 * after the commit that returned them). Never throws into the request that returned the seats: a
 * failure is logged, and the next return of seats (or the hold sweeper) tries again. Calls for one event are
 * coalesced: while one promotion runs, any number of new calls make exactly one more run after it, which sees
 * every seat returned meanwhile. Correctness does not depend on this: the statement is safe in any number of
 * processes at once.
 */
export class WaitlistPromoter {
  private readonly running = new Map<number, { again: boolean }>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly options: PromoterOptions,
  ) {}

  promote(eventId: number): void {
    const current = this.running.get(eventId);
    if (current) {
      current.again = true;
      return;
    }
    const state = { again: false };
    this.running.set(eventId, state);
    const run = this.runWhileAsked(eventId, state).finally(() => {
      this.running.delete(eventId);
      this.pending.delete(run);
    });
    this.pending.add(run);
  }

  /** Resolves once no promotion is running (graceful shutdown, tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async runWhileAsked(eventId: number, state: { again: boolean }): Promise<void> {
    do {
      state.again = false;
      try {
        const { released, holds } = await promoteWaitlist(this.db, eventId);
        if (holds.length > 0 || released > 0) this.options.changes.seatsChanged(eventId);
        if (holds.length > 0) this.options.log.info({ eventId, holds: holds.length }, 'waiting list: holds created');
      } catch (error) {
        this.options.log.error({ err: error, eventId }, 'waiting list: promotion failed; retried when seats next come back');
        return;
      }
    } while (state.again);
  }
}
