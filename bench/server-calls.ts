// The bench's own calls to the server under test, outside the measured runs: it creates the events and reads
// the counters it needs between runs. Over HTTP, so they work on both databases.

/** Creates events owned by the buyer with `ownerToken` (the first buyer); each call answers the new event's id. */
export function eventCreator(baseUrl: string, ownerToken: string) {
  const headers = { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' };
  return async (name: string, total: number, extra: Record<string, unknown> = {}): Promise<number> => {
    const response = await fetch(`${baseUrl}/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ event_name: name, date: '2030-01-01T20:00:00Z', ticket_price: '49.90', total_tickets: total, ...extra }),
    });
    return ((await response.json()) as { id: number }).id;
  };
}

// The event's counter as the API shows it; the rows themselves are checked at the end (invariant-checks.ts).
export async function ticketsSold(baseUrl: string, eventId: number): Promise<number> {
  const response = await fetch(`${baseUrl}/events/${eventId}`);
  return ((await response.json()) as { tickets_sold: number }).tickets_sold;
}

// Buyers and batches so far, from the server's /metrics (a scrape covers every worker).
export async function batchTotals(baseUrl: string): Promise<{ buyers: number; batches: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { buyers: read('bookfast_booking_batch_size_sum'), batches: read('bookfast_booking_batch_size_count') };
}

/** Polls the event every 20 ms; `done` resolves with the time (Date.now()) it was first seen sold out. */
export function watchSellOut(baseUrl: string, eventId: number, capacity: number) {
  const done = new Promise<number>((resolve) => {
    const poll = async () => {
      if ((await ticketsSold(baseUrl, eventId)) >= capacity) resolve(Date.now());
      else setTimeout(() => void poll(), 20);
    };
    void poll();
  });
  return { done };
}
