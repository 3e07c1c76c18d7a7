import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { BookingBatcher } from './inventory/batcher.js';
import type { OrderBatcher } from './inventory/order-batcher.js';
import type { SeatChanges } from './inventory/seat-changes.js';
import type { LiveSeats } from './live/seats.js';
import type { WaitingRoomRuntime } from './waiting-room/runtime.js';

// What app.ts builds once and hands to every feature's routes. Each routes file declares the part it takes
// instead of importing this type: this file imports live seats, the waiting room and the inventory, so their
// routes importing it would tie folders both ways.

export interface Deps {
  config: Config;
  db: Db;
  /** For read-only lists that may be a moment old (DATABASE_READ_URL): a replica while it keeps up, else `db`. */
  readDb: Db;
  batcher: BookingBatcher;
  /** POST /orders and confirms, batched per event. */
  orders: OrderBatcher;
  /** Services announce committed seat changes here; live seats, the waiting list, metrics listen. */
  changes: SeatChanges;
  live: LiveSeats;
  /** Waiting room: the in-memory room list and its ticker (the pass check is a route option, see gate.ts). */
  waitingRoom: WaitingRoomRuntime;
}
