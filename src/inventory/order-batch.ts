import type { Database } from '../db/client.js';
import type { EventRow } from '../db/rows.js';
import { readRecordedSale, rethrowKeyTaken, type KeyToRecord } from './idempotency-records.js';
import { LOCK_EVENT, toBoolArray, toIntArray, toTextArray } from './fragments.js';
import { ORDER_BATCH_KEYED_SQL, ORDER_BATCH_SQL } from './order-batch.sql.js';
import { pickEvent } from './rows.js';
import type { OrderWithTickets, TicketRow } from '../db/rows.js';

// The order batch: POST /orders (holds and immediate orders), many buyers of one event in ONE statement
// (SQL in order-batch.sql.ts; invariants: INVARIANTS.md).

/** One order of the batch: `quantity` seats for `userId`, held (pending) or booked now. */
export interface OrderInBatch {
  userId: number;
  quantity: number;
  hold: boolean;
  /** Recorded with the order in the statement that places it. */
  key?: KeyToRecord | undefined;
}

/** What the batch decided for one order. */
export type OrderVerdict =
  | { kind: 'placed'; placed: OrderWithTickets }
  | { kind: 'over-order-limit'; limit: number }
  | { kind: 'sold-out' }
  | { kind: 'over-user-limit'; limit: number; owned: number }
  // Its key already had a row when the statement ran: it took no part, and replays what was recorded.
  | { kind: 'recorded-before' };

export type OrderBatchOutcome =
  | { kind: 'no-such-event' }
  // `verdicts[i]` answers orders[i]. `released`: seats of overdue holds expired on the way. `limited`: the
  // event has a per-buyer limit (the batcher then goes straight to the counting transaction next time).
  | { kind: 'decided'; released: number; limited: boolean; verdicts: OrderVerdict[] };

/**
 * Places a batch of orders of one event, all or nothing per order, in arrival order: an order that does not
 * fit is refused whole and later smaller ones may still fit. Within max_per_order, within the seats left
 * (free - waiting, overdue holds expired first) and, when the event has one, within max_per_user for every
 * buyer, counting the seats they had and those this batch already gave them.
 *
 * Why the per-buyer count is right: a statement's snapshot is taken before it waits for the event lock, so a
 * lone statement would miss tickets and holds committed meanwhile. On a limited event the batch is therefore
 * the second statement of a transaction whose first took the lock: under READ COMMITTED its snapshot is taken
 * after the lock, every writer of the event's tickets and orders takes that lock first (INVARIANTS.md), so the
 * snapshot holds all of them and none can commit before us. Without a limit one statement suffices; it reports
 * the limit (`per-user-limit`, nothing sold) if the owner set one meanwhile, and the batch runs counted.
 */
export async function placeOrders(database: Database, eventId: number, orders: OrderInBatch[], limitedHint = false): Promise<OrderBatchOutcome> {
  if (limitedHint) return placeOrdersCounted(database, eventId, orders);
  const { name, text, values } = statement(eventId, orders, false);
  const row = (await database.prepared<OrderBatchRow>(name, text, values).catch(rethrowKeyTaken))[0];
  if (!row) return { kind: 'no-such-event' };
  if (row.user_limit === null || !row.verdicts?.includes('per-user-limit')) return decode(row, orders);
  const counted = await placeOrdersCounted(database, eventId, orders);
  return counted.kind === 'decided' ? { ...counted, released: counted.released + row.released } : counted;
}

// The lock first, then the batch: one transaction, in one round trip on a server (src/db/after-lock.ts).
async function placeOrdersCounted(database: Database, eventId: number, orders: OrderInBatch[]): Promise<OrderBatchOutcome> {
  const { name, text, values } = statement(eventId, orders, true);
  const row = (await database.preparedAfterLock<OrderBatchRow>({ text: LOCK_EVENT, values: [eventId] }, name, text, values).catch(rethrowKeyTaken))[0];
  return row ? decode(row, orders) : { kind: 'no-such-event' };
}

interface OrderBatchRow extends EventRow {
  released: number;
  order_limit: number;
  user_limit: number | null;
  arrivals: number[] | null;
  verdicts: ('per-user-limit' | 'over-order-limit' | 'sold-out' | 'over-user-limit' | 'placed')[] | null;
  owned: number[] | null;
  order_ids: number[] | null;
  total_prices: string[] | null;
  created_at: Date | null;
  expires_at: Date | null;
  ticket_order_ids: number[] | null;
  ticket_ids: number[] | null;
  ticket_codes: string[] | null;
  purchase_date: Date | null;
  recorded?: { arrival: number; response: unknown }[] | null;
  recorded_before?: number[] | null;
}

// A batch without keys runs the plain statement; one with keys, the same plus the key records.
function statement(eventId: number, orders: OrderInBatch[], counted: boolean): { name: string; text: string; values: unknown[] } {
  const values = [eventId, toIntArray(orders.map((o) => o.userId)), toIntArray(orders.map((o) => o.quantity)), toBoolArray(orders.map((o) => o.hold)), counted];
  const keyed: { arrival: number; key: KeyToRecord }[] = [];
  orders.forEach((order, i) => order.key && keyed.push({ arrival: i + 1, key: order.key }));
  if (keyed.length === 0) return { name: 'order_batch_v1', text: ORDER_BATCH_SQL, values };
  const keys = [toIntArray(keyed.map((k) => k.arrival)), toTextArray(keyed.map((k) => k.key.key)), toTextArray(keyed.map((k) => k.key.requestHash))];
  return { name: 'order_batch_keyed_v1', text: ORDER_BATCH_KEYED_SQL, values: [...values, ...keys] };
}

function decode(row: OrderBatchRow, orders: OrderInBatch[]): OrderBatchOutcome {
  const verdicts: OrderVerdict[] = orders.map(() => ({ kind: 'recorded-before' }));
  const recorded = new Map((row.recorded ?? []).map((r) => [r.arrival, r.response]));
  const tickets = ticketsByOrder(row);
  const event = row.id === null ? undefined : pickEvent(row);
  let placedIndex = 0;
  (row.arrivals ?? []).forEach((arrival, i) => {
    const verdict = row.verdicts![i]!;
    const order = orders[arrival - 1]!;
    if (verdict === 'placed') {
      const response = recorded.get(arrival);
      if (response !== undefined) {
        const sale = readRecordedSale(response);
        verdicts[arrival - 1] = { kind: 'placed', placed: { order: sale.order!, event: sale.event, tickets: sale.tickets } };
      } else {
        const id = row.order_ids![placedIndex]!;
        const placed = {
          order: {
            id,
            event_id: event!.id,
            user_id: order.userId,
            status: order.hold ? ('pending' as const) : ('confirmed' as const),
            quantity: order.quantity,
            total_price: row.total_prices![placedIndex]!,
            created_at: row.created_at!,
            expires_at: order.hold ? row.expires_at : null,
          },
          event: event!,
          tickets: (tickets.get(id) ?? []).map((ticket) => ({ ...ticket, event_id: event!.id, user_id: order.userId })),
        };
        verdicts[arrival - 1] = { kind: 'placed', placed };
      }
      placedIndex++;
    } else if (verdict === 'over-order-limit') verdicts[arrival - 1] = { kind: verdict, limit: row.order_limit };
    else if (verdict === 'over-user-limit') verdicts[arrival - 1] = { kind: verdict, limit: row.user_limit!, owned: row.owned![i]! };
    // 'per-user-limit' never reaches here (placeOrders runs the batch counted instead).
    else verdicts[arrival - 1] = { kind: 'sold-out' };
  });
  return { kind: 'decided', released: row.released, limited: row.user_limit !== null, verdicts };
}

// The issued tickets grouped by order, in id order; the order's event and buyer are filled in by decode.
function ticketsByOrder(row: OrderBatchRow): Map<number, Omit<TicketRow, 'event_id' | 'user_id'>[]> {
  const byOrder = new Map<number, Omit<TicketRow, 'event_id' | 'user_id'>[]>();
  (row.ticket_ids ?? []).forEach((id, i) => {
    const orderId = row.ticket_order_ids![i]!;
    const list = byOrder.get(orderId) ?? [];
    list.push({ id, status: 'booked', purchase_date: row.purchase_date!, code: row.ticket_codes![i]!, checked_in_at: null });
    byOrder.set(orderId, list);
  });
  return byOrder;
}
