// The bench's checks on the rows once the runs are over: the invariant (no 200 without its ticket, never
// above capacity) per event, and what (c-key), (c-many) and (d) promise besides.

/** Rows of one SQL statement, from a PostgreSQL client or the embedded database. */
export type Query = <T>(text: string, values: unknown[]) => Promise<T[]>;

// Every ticket of the keyed event was sold under a key, so each must have exactly one key row linking it.
export async function checkKeyed(query: Query, eventId: number): Promise<string[]> {
  const rows = await query<{ tickets: number; linked: number }>(
    `SELECT (SELECT count(*) FROM tickets WHERE event_id = $1)::int AS tickets,
            (SELECT count(*) FROM idempotency_keys k JOIN tickets t ON t.id = k.ticket_id WHERE t.event_id = $1)::int AS linked`,
    [eventId],
  );
  const { tickets, linked } = rows[0]!;
  return tickets === linked ? [] : [`event ${eventId}: ${tickets} tickets sold with a key but ${linked} key rows link one`];
}

// All or nothing per order: every confirmed order of the event has exactly `quantity` booked tickets, and
// the event's counters agree with its orders (held = seats of pending orders).
export async function checkOrders(query: Query, eventId: number) {
  const rows = await query<{ orders: number; broken: number; seats: number; held_drift: boolean }>(
    `SELECT count(*)::int AS orders,
            count(*) FILTER (WHERE n <> quantity)::int AS broken,
            COALESCE(sum(quantity), 0)::int AS seats,
            (SELECT e.tickets_held <> (SELECT COALESCE(sum(quantity), 0) FROM orders WHERE event_id = $1 AND status = 'pending')
             FROM events e WHERE e.id = $1) AS held_drift
     FROM (SELECT o.quantity, (SELECT count(*) FROM tickets t WHERE t.order_id = o.id AND t.status = 'booked') AS n
           FROM orders o WHERE o.event_id = $1 AND o.status = 'confirmed') per_order`,
    [eventId],
  );
  const row = rows[0]!;
  const problems: string[] = [];
  if (row.broken > 0) problems.push(`event ${eventId}: ${row.broken} confirmed orders without exactly their quantity of tickets`);
  if (row.held_drift) problems.push(`event ${eventId}: tickets_held differs from the seats of pending orders`);
  return { confirmed: row.orders, seats: row.seats, problems };
}

export async function checkInvariant(query: Query, events: { id: number; successes: number; exactly?: number }[]) {
  const problems: string[] = [];
  for (const event of events) {
    const rows = await query<{ tickets_sold: number; total_tickets: number; booked: number }>(
      `SELECT e.tickets_sold, e.total_tickets, (SELECT count(*)::int FROM tickets t WHERE t.event_id = e.id AND t.status = 'booked') AS booked
       FROM events e WHERE e.id = $1`,
      [event.id],
    );
    const row = rows[0]!;
    if (row.tickets_sold !== row.booked) problems.push(`event ${event.id}: tickets_sold ${row.tickets_sold} != booked rows ${row.booked}`);
    if (row.tickets_sold > row.total_tickets) problems.push(`event ${event.id}: oversold ${row.tickets_sold} > ${row.total_tickets}`);
    if (row.booked < event.successes) problems.push(`event ${event.id}: ${event.successes} answered 200 but only ${row.booked} booked rows`);
    if (event.exactly !== undefined && row.booked !== event.exactly) problems.push(`event ${event.id}: sold ${row.booked}, capacity ${event.exactly}`);
  }
  return { ok: problems.length === 0, problems };
}

// Answers counted over several events together (c-many): their booked rows must hold every 200.
export async function checkBookedAcross(query: Query, label: string, eventIds: number[], successes: number): Promise<string[]> {
  const [row] = await query<{ booked: number }>(`SELECT count(*)::int AS booked FROM tickets WHERE event_id = ANY($1::int[]) AND status = 'booked'`, [eventIds]);
  return row!.booked < successes ? [`${label}: ${successes} answered 200 but ${row!.booked} booked rows`] : [];
}
