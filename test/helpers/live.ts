// A client of GET /events/{id}/live over a real port, shared by the live-seats and multi-host tests.

export interface Seats {
  tickets_available: number;
  tickets_sold: number;
  total_tickets: number;
}

/** An EventSource-like client over fetch on a real port: reads `data:` messages one at a time. */
export async function openLive(baseUrl: string, eventId: number) {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/events/${eventId}/live`, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    response,
    /** The next message's JSON; throws if the stream ends first. */
    async next(): Promise<Seats> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6));
          if (data.length > 0) return JSON.parse(data.join('\n')) as Seats;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
    /** Reads messages until the seats run out; returns all of them, the last one included. */
    async untilSoldOut(): Promise<Seats[]> {
      const seen: Seats[] = [];
      for (;;) {
        const seats = await this.next();
        seen.push(seats);
        if (seats.tickets_available === 0) return seen;
      }
    },
    close: () => controller.abort(),
  };
}
