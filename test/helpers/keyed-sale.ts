import { randomUUID } from 'node:crypto';
import { send } from './faults.js';

export interface KeyedSaleResult {
  /** Every answer's status, retries included. */
  statuses: Record<number, number>;
  /** Acknowledged sales: ticket ids of POST /book 200s and order ids (with their seats) of POST /orders 200s. */
  ticketIds: number[];
  orders: { id: number; seats: number }[];
  /** Seats acknowledged in all. */
  seats: number;
  /** Keys given up on (no final answer within `giveUpMs`): should be none. */
  unsettled: number;
  /** The longest stretch without an acknowledged sale (ms), and when it began (epoch ms). */
  gapMs: number;
  gapFrom: number;
}

export interface KeyedSaleOptions {
  /** Each buyer's next attempt goes to the next of these base URLs (a client that retries elsewhere). */
  hosts: string[];
  buyers: { token: string }[];
  eventId: number;
  /** How long a key is retried before it is given up (counted in `unsettled`). */
  giveUpMs?: number;
}

const RETRY_PAUSE_MS = 200;

/**
 * A flash sale of keyed requests: every buyer, in a loop, books one seat (POST /book) or orders one or two
 * (POST /orders), each under a new Idempotency-Key retried with the same key on 503 or on no answer at all,
 * until it gets a final answer. stop() lets each buyer settle its key in hand, then reports.
 */
export function startKeyedSale({ hosts, buyers, eventId, giveUpMs = 90_000 }: KeyedSaleOptions): { stop(): Promise<KeyedSaleResult> } {
  const result: KeyedSaleResult = { statuses: {}, ticketIds: [], orders: [], seats: 0, unsettled: 0, gapMs: 0, gapFrom: 0 };
  const acknowledgedAt: number[] = [];
  let stopped = false;
  let sent = 0;

  const buyerLoop = async (token: string, index: number) => {
    for (let sale = 0; !stopped; sale++) {
      const key = randomUUID();
      const isOrder = (index + sale) % 2 === 1;
      const seats = isOrder ? 1 + (sale % 2) : 1;
      const [path, body] = isOrder ? ['/orders', { event_id: eventId, quantity: seats }] : ['/book', { event_id: eventId }];
      const since = Date.now();
      for (;;) {
        const answer = await send(hosts[sent++ % hosts.length]!, path, token, body, { 'idempotency-key': key });
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        if (answer.status === 200) {
          acknowledgedAt.push(Date.now());
          const parsed = JSON.parse(answer.text) as { id: number };
          if (isOrder) result.orders.push({ id: parsed.id, seats });
          else result.ticketIds.push(parsed.id);
          result.seats += seats;
          break;
        }
        if (answer.status !== 0 && answer.status !== 503) break;
        if (Date.now() - since > giveUpMs) {
          result.unsettled++;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  };

  const running = Promise.all(buyers.map((buyer, i) => buyerLoop(buyer.token, i)));
  return {
    async stop() {
      stopped = true;
      await running;
      acknowledgedAt.sort((a, b) => a - b);
      for (let i = 1; i < acknowledgedAt.length; i++) {
        const gap = acknowledgedAt[i]! - acknowledgedAt[i - 1]!;
        if (gap > result.gapMs) [result.gapMs, result.gapFrom] = [gap, acknowledgedAt[i - 1]!];
      }
      return result;
    },
  };
}
