import { placeOrder, type OrderRequest } from '../inventory/orders.js';
import type { SeatChanges } from '../inventory/seat-changes.js';
import type { OrderWithTickets } from '../inventory/rows.js';
import type { Db } from '../db/client.js';
import { Conflict, invalidField, NotFound, SoldOut } from '../http/errors.js';

/**
 * Places an order, or throws what the buyer should be told. Shared by POST /orders and by POST /book for
 * events with a per-buyer limit (which the batch statement cannot check).
 */
export async function placeOrderOrRefuse(db: Db, changes: SeatChanges, request: OrderRequest): Promise<OrderWithTickets> {
  const outcome = await placeOrder(db, request);
  // Overdue holds released on the way: this process may still remember the event as sold out.
  if (outcome.released > 0) changes.seatsReturned(request.eventId);
  switch (outcome.kind) {
    case 'no-such-event':
      throw new NotFound('Event not found');
    case 'over-order-limit':
      throw invalidField(['body', 'quantity'], `Input should be less than or equal to ${outcome.limit} (this event's limit per order)`, 'less_than_equal');
    case 'sold-out':
      throw new SoldOut();
    case 'over-user-limit':
      throw new Conflict(`This event allows ${outcome.limit} tickets per buyer and you already have ${outcome.owned}`);
    case 'placed':
      // Seats were taken (sold or held): live availability clients hear of it.
      changes.seatsChanged(request.eventId);
      return outcome.placed;
  }
}
