import type { OrderBatcher } from '../inventory/order-batcher.js';
import type { OrderInBatch } from '../inventory/order-batch.js';
import { IdempotencyKeyTaken } from '../inventory/idempotency-records.js';
import type { OrderWithTickets } from '../inventory/rows.js';
import { Conflict, invalidField, NotFound, SoldOut } from '../errors.js';

/**
 * Places an order in its event's next batch, or throws what the buyer should be told. Shared by POST /orders
 * and by POST /book for events with a per-buyer limit (`limited`: the caller knows the event has one).
 */
export async function placeOrderOrRefuse(orders: OrderBatcher, eventId: number, order: OrderInBatch, limited = false): Promise<OrderWithTickets> {
  const answer = await orders.place(eventId, order, limited);
  switch (answer.kind) {
    case 'no-such-event':
      throw new NotFound('Event not found');
    case 'over-order-limit':
      throw invalidField(['body', 'quantity'], `Input should be less than or equal to ${answer.limit} (this event's limit per order)`, 'less_than_equal');
    case 'sold-out':
      throw new SoldOut();
    case 'over-user-limit':
      throw new Conflict(`This event allows ${answer.limit} tickets per buyer and you already have ${answer.owned}`);
    case 'placed':
      return answer.placed;
    case 'recorded-before':
      // Its key was recorded when the batch ran: the caller looks it up and replays it.
      throw new IdempotencyKeyTaken('Idempotency-Key already recorded');
  }
}
