import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RoomRow } from './repository.js';

export interface WaitingRoomMetrics {
  admitted(eventId: number, waitsSeconds: number[]): void;
  abandoned(eventId: number, count: number): void;
}

// Join-to-admission waits run from seconds to hours.
const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/**
 * Per room: the leader's counts (read from this process's room list at scrape time; with WORKERS the
 * primary keeps the highest, not the sum, since every worker holds the same list), the setting, and the
 * admissions this process made as leader (counters and the wait histogram sum across processes).
 */
export function createWaitingRoomMetrics(registry: Registry, rooms: () => Iterable<RoomRow>): WaitingRoomMetrics {
  const fromRooms = (name: string, help: string, read: (room: RoomRow) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['event_id'],
      aggregator: 'max',
      registers: [registry],
      collect() {
        this.reset();
        for (const room of rooms()) this.set({ event_id: String(room.event_id) }, read(room));
      },
    });
  fromRooms('bookfast_waiting_room_waiting', 'People in line not yet admitted or skipped (pre-queue included)', (r) => r.waiting);
  fromRooms('bookfast_waiting_room_active', 'Passes issued, unexpired, whose purchase has not completed', (r) => r.active);
  fromRooms('bookfast_waiting_room_admitted_count', 'People admitted since the room opened', (r) => r.admitted_total);
  fromRooms('bookfast_waiting_room_abandoned_count', 'People skipped because they stopped polling before their turn', (r) => r.abandoned_total);
  fromRooms('bookfast_waiting_room_admit_per_minute', 'The admission rate set by the organizer', (r) => r.admit_per_minute);

  const admissions = new Counter({
    name: 'bookfast_waiting_room_admissions_total',
    help: 'Admissions made (rate() of this is the actual admission rate)',
    labelNames: ['event_id'],
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'bookfast_waiting_room_abandoned_total',
    help: 'People skipped at their turn for not polling within grace_seconds',
    labelNames: ['event_id'],
    registers: [registry],
  });
  const waits = new Histogram({
    name: 'bookfast_waiting_room_wait_seconds',
    help: 'Time from joining the line to admission',
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  return {
    admitted(eventId, waitsSeconds) {
      if (waitsSeconds.length === 0) return;
      admissions.inc({ event_id: String(eventId) }, waitsSeconds.length);
      for (const seconds of waitsSeconds) waits.observe(seconds);
    },
    abandoned(eventId, count) {
      skipped.inc({ event_id: String(eventId) }, count);
    },
  };
}
