// SQL expressions that build a webhook's `data` inside the statement that makes the change, in the API's
// shapes (EventOut, TicketOut, OrderOut). test/webhooks.seats.test.ts and webhooks.splices.test.ts check what
// they build against the TypeBox schemas and the API's own answers, so the two cannot drift apart unnoticed.
// Arguments are SQL aliases or expressions, never user input.

/** An ISO 8601 UTC timestamp with milliseconds, as Date.prototype.toISOString writes it (null stays null). */
export function isoSql(expression: string): string {
  return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** EventOut of the row `e` (any relation with the events columns). */
export function eventJsonSql(e: string): string {
  return `json_build_object('id', ${e}.id, 'event_name', ${e}.event_name, 'date', ${isoSql(`${e}.date`)},
    'ticket_price', ${e}.ticket_price::text, 'total_tickets', ${e}.total_tickets, 'tickets_sold', ${e}.tickets_sold,
    'tickets_available', ${e}.total_tickets - ${e}.tickets_sold - ${e}.tickets_held, 'max_per_order', ${e}.max_per_order,
    'max_per_user', ${e}.max_per_user, 'hold_minutes', ${e}.hold_minutes, 'currency', ${e}.currency)`;
}

/** TicketOut of the ticket row `t` with its event JSON `eventJson` (built once per statement where it can be). */
export function ticketJsonSql(t: string, eventJson: string): string {
  return `json_build_object('id', ${t}.id, 'event_id', ${t}.event_id, 'user_id', ${t}.user_id, 'status', ${t}.status,
    'purchase_date', ${isoSql(`${t}.purchase_date`)}, 'code', ${t}.code, 'checked_in_at', ${isoSql(`${t}.checked_in_at`)},
    'event', ${eventJson})`;
}

/**
 * OrderOut of the order row `o`, its tickets as a JSON array expression (`'[]'::json` for a hold) and its
 * event JSON. For a confirmed order the caller aggregates: `json_agg(<ticketJsonSql> ORDER BY t.id)`.
 */
export function orderJsonSql(o: string, ticketsJson: string, eventJson: string): string {
  return `json_build_object('id', ${o}.id, 'event_id', ${o}.event_id, 'user_id', ${o}.user_id, 'status', ${o}.status,
    'quantity', ${o}.quantity, 'tickets', ${ticketsJson}, 'total_price', ${o}.total_price::text,
    'created_at', ${isoSql(`${o}.created_at`)},
    'expires_at', CASE WHEN ${o}.status = 'pending' THEN ${isoSql(`${o}.expires_at`)} END, 'event', ${eventJson})`;
}
