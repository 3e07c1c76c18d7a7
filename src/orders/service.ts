import { IdempotencyKeyTaken, type KeyToRecord, type RecordedSale } from '../inventory/idempotency-records.js';
import { cancelOrder } from '../inventory/returns.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import type { OrderBatcher } from '../inventory/order-batcher.js';
import type { OrderInBatch } from '../inventory/order-batch.js';
import type { Db } from '../db/client.js';
import { AppError, Conflict, Forbidden, invalidField, NotFound, OverUserLimit, SoldOut } from '../errors.js';
import { findEventOfOrder, findOrder, listOrders } from './repository.js';
import type { OrderCreate } from './schemas.js';
import type { OrderWithTickets } from '../db/rows.js';
import { toOrderOut } from '../shapes/orders.js';

/** The answer of POST /orders or a confirm again, from what its statement recorded. */
export function replayOrder({ order, event, tickets }: RecordedSale) {
  return toOrderOut({ order: order!, event, tickets });
}

export async function orderSeats(orders: OrderBatcher, userId: number, body: OrderCreate, key?: KeyToRecord) {
  return toOrderOut(await placeOrderOrRefuse(orders, body.event_id, { userId, quantity: body.quantity, hold: body.hold ?? false, key }));
}

/** Places an order in its event's next batch (POST /orders), or throws what the buyer should be told. */
async function placeOrderOrRefuse(orders: OrderBatcher, eventId: number, order: OrderInBatch): Promise<OrderWithTickets> {
  const answer = await orders.place(eventId, order);
  switch (answer.kind) {
    case 'no-such-event':
      throw new NotFound('Event not found');
    case 'over-order-limit':
      throw invalidField(['body', 'quantity'], `Input should be less than or equal to ${answer.limit} (this event's limit per order)`, 'less_than_equal');
    case 'sold-out':
      throw new SoldOut();
    case 'over-user-limit':
      throw new OverUserLimit(answer.limit, answer.owned);
    case 'placed':
      return answer.placed;
    case 'recorded-before':
      // The batcher already answers this verdict with IdempotencyKeyTaken (the caller looks the key up and
      // replays it); the case stays so that the switch covers every answer.
      throw new IdempotencyKeyTaken('Idempotency-Key already recorded');
  }
}

/** Turns my pending hold into booked tickets; 409 if it expired (its seats are then already back on sale). */
export async function confirmOwnOrder(db: Db, orders: OrderBatcher, orderId: number, userId: number, key?: KeyToRecord) {
  // Confirms are batched per event: find the order's event first (it never changes, so any read will do).
  const eventId = await findEventOfOrder(db, orderId);
  if (eventId === null) throw new NotFound('Order not found');
  const settled = await orders.confirm(eventId, { orderId, userId, key });
  if (settled?.order.status === 'confirmed') return toOrderOut(settled);
  // It was overdue: the same statement expired it and returned its seats.
  if (settled) throw new Conflict('The hold has expired; its seats were released');
  throw whyNot(await findOrder(db, orderId), userId, 'confirmed');
}

/** Cancels my hold (seats back) or my confirmed order (its booked tickets cancelled, seats back). */
export async function cancelOwnOrder(db: Db, changes: SeatChanges, orderId: number, userId: number) {
  // Try as a hold, then as a confirmed order: each statement re-checks the status under the locks, so a
  // concurrent confirm between the two is cancelled as the confirmed order it has become.
  const cancelled = (await cancelOrder(db, orderId, userId, 'pending')) ?? (await cancelOrder(db, orderId, userId, 'confirmed'));
  // A checked-in ticket was used at the door: its order is refused whole, nothing changed.
  if (cancelled?.kind === 'checked-in') throw new Conflict('Ticket already checked in');
  const order = await findOrder(db, orderId);
  if (cancelled && order) {
    if (cancelled.seats > 0) changes.seatsReturned(cancelled.eventId);
    return toOrderOut(order);
  }
  throw whyNot(order, userId, 'cancelled');
}

export async function getOwnOrder(db: Db, orderId: number, userId: number) {
  const order = await findOrder(db, orderId);
  if (!order || order.order.user_id !== userId) throw whyNot(order, userId, 'read');
  return toOrderOut(order);
}

export async function listOwnOrders(db: Db, userId: number, skip: number, limit: number) {
  return (await listOrders(db, userId, skip, limit)).map(toOrderOut);
}

// Nothing changed: say why, from the order as it is now.
function whyNot(found: OrderWithTickets | null, userId: number, wanted: 'confirmed' | 'cancelled' | 'read'): AppError {
  if (!found) return new NotFound('Order not found');
  if (found.order.user_id !== userId) return new Forbidden('Not your order');
  const { status } = found.order;
  if (status === 'expired') return new Conflict('The hold has expired; its seats were released');
  if (status === wanted) return new Conflict(`Order is already ${status}`);
  return new Conflict(`Order is ${status}; only a pending order can be ${wanted}`);
}
