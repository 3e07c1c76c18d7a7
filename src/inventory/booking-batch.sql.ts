import { EVENT_COLUMN_LIST } from '../db/rows.js';
import { eventJson, ticketJson } from './idempotency-records.js';
import { buyerSeatsSql, EXPIRE_OVERDUE_HOLDS_OF_EV } from './fragments.js';
import { bookSeatsWebhooks } from '../outbox/splices.js';

// The SQL of the booking batch (booking-batch.ts runs it). $1 event id, $2 number of buyers, $3 their user ids
// in arrival order. Four forms: plain or keyed (Idempotency-Keys recorded with the seats), each alone or
// counted (an event with a max_per_user: run after the transaction's first statement took the event lock).

interface Buyers {
  /** The relation of the buyers who take part, as `buyer` (user_id, ord: 1.. in arrival order). */
  buyers: string;
  /** How many take part. */
  count: string;
  /** Whether each buyer's seats were counted (so a per-buyer limit may sell). */
  counted: boolean;
  /** The columns of the new tickets the statement returns. */
  issuedColumns?: string;
}

// Sellable = free seats (overdue holds counted back) minus the people in line, never below 0; everything
// from the locked row `ev` (INVARIANTS.md, rules 3 and 4). A limited event sells only counted: a lone
// statement's snapshot could miss a buyer's seats committed while it waited for the lock (`uncounted`:
// nothing sold, the batcher runs the batch counted). The webhooks (order.expired, ticket.booked,
// event.sold_out) are written by the same statement, for the endpoints subscribed; with none, nothing.
const bookSeatsCtes = ({ buyers, count, counted, issuedColumns = 'id, user_id, purchase_date, code' }: Buyers) => /* sql */ `
  ev AS (
    SELECT id, total_tickets, tickets_sold, tickets_held, total_tickets - tickets_sold - tickets_held AS free, waiting, max_per_user
    FROM events WHERE id = $1 FOR UPDATE
  ), expired AS (
    ${EXPIRE_OVERDUE_HOLDS_OF_EV}
  ), quota AS (
    SELECT ev.id, ev.max_per_user AS user_limit, ev.max_per_user IS NOT NULL AND NOT ${counted} AS uncounted,
           ev.total_tickets, ev.tickets_sold, ev.tickets_held, freed.seats AS freed, sellable.seats AS sellable,
           CASE WHEN ev.max_per_user IS NOT NULL AND NOT ${counted} THEN 0 ELSE LEAST(${count}, sellable.seats) END AS granted
    FROM ev, (SELECT COALESCE(sum(quantity), 0)::int AS seats FROM expired) freed,
         LATERAL (SELECT GREATEST(ev.free + freed.seats - ev.waiting, 0) AS seats) sellable
  ), taken AS (
    UPDATE events e
    SET total_tickets = quota.total_tickets, tickets_sold = quota.tickets_sold + quota.granted, tickets_held = quota.tickets_held - quota.freed
    FROM quota WHERE e.id = quota.id AND (quota.granted > 0 OR quota.freed > 0)
    RETURNING ${EVENT_COLUMN_LIST}
  ), issued AS (
    INSERT INTO tickets (event_id, user_id, status, price)
    SELECT taken.id, buyer.user_id, 'booked', taken.ticket_price
    FROM taken, quota, ${buyers}
    WHERE buyer.ord <= quota.granted
    RETURNING ${issuedColumns}
  ), issued_arrays AS (
    -- One result row per batch, not one per ticket with the event repeated: the driver parses the event and
    -- the purchase time once. Each array is ordered by ticket id, so index i of each is one ticket;
    -- purchase_date defaults to now(), the transaction's start, the same for every ticket here.
    SELECT array_agg(id ORDER BY id) AS ticket_ids, array_agg(user_id ORDER BY id) AS user_ids,
           array_agg(code ORDER BY id) AS codes, max(purchase_date) AS purchase_date
    FROM issued
  ), ${bookSeatsWebhooks()}`;

// Counted: `src` (user_id, ord, arrival: the 1-based place in $3) are the buyers; those within the limit go on
// as `allowed`, numbered again. Safe because this runs after the event lock (booking-batch.ts): the snapshot
// holds every ticket and hold of each buyer, and nobody can add one before this commits. A buyer's seats are
// counted as the order batch counts them (buyerSeatsSql); the n-th request of a buyer in this batch counts the n - 1 before it (each is one seat).
const countedCtes = (src: string) => /* sql */ `lim AS (
    SELECT id, max_per_user FROM events WHERE id = $1
  ), owned AS (
    SELECT b.user_id, ${buyerSeatsSql('lim.id', 'b.user_id', 'lim.max_per_user')} AS owned
    FROM (SELECT DISTINCT user_id FROM ${src}) b, lim WHERE lim.max_per_user IS NOT NULL
  ), judged AS (
    SELECT s.user_id, s.ord, s.arrival, lim.max_per_user,
           COALESCE(o.owned, 0) + row_number() OVER (PARTITION BY s.user_id ORDER BY s.ord) - 1 AS before
    FROM ${src} s CROSS JOIN lim LEFT JOIN owned o ON o.user_id = s.user_id
  ), allowed AS MATERIALIZED (
    SELECT user_id, row_number() OVER (ORDER BY ord) AS ord, arrival FROM judged WHERE max_per_user IS NULL OR before < max_per_user
  )`;

// Refused for the limit: over it, and a seat was still left when its turn came (fewer allowed buyers before
// it than seats to sell); one over the limit after the seats ran out is told Sold Out, as the order walk does.
const REFUSED = /* sql */ `refused AS (
    SELECT j.arrival, j.before FROM judged j, quota
    WHERE j.before >= j.max_per_user AND (SELECT count(*) FROM allowed a WHERE a.arrival < j.arrival) < quota.sellable
  )`;
const REFUSED_COLUMNS = `(SELECT array_agg(arrival::int ORDER BY arrival) FROM refused) AS refused,
    (SELECT array_agg(before::int ORDER BY arrival) FROM refused) AS refused_owned`;

const SELECT = 'SELECT quota.granted, quota.freed AS released, quota.uncounted, quota.user_limit, taken.*, issued_arrays.*';
const FROM = 'FROM quota LEFT JOIN taken ON true CROSS JOIN issued_arrays';

export const BOOK_SEATS_SQL = `WITH ${bookSeatsCtes({ buyers: 'unnest($3::int[]) WITH ORDINALITY AS buyer(user_id, ord)', count: '$2::int', counted: false })}
  ${SELECT} ${FROM}`;

export const BOOK_SEATS_COUNTED_SQL = `WITH src AS (
    SELECT b.user_id, b.ord, b.ord AS arrival FROM unnest($3::int[]) WITH ORDINALITY AS b(user_id, ord)
  ), ${countedCtes('src')}, ${bookSeatsCtes({ buyers: 'allowed AS buyer', count: 'LEAST($2::int, (SELECT count(*) FROM allowed)::int)', counted: true })},
  ${REFUSED}
  ${SELECT}, ${REFUSED_COLUMNS} ${FROM}`;

// The keyed forms: $4 the 1-based positions of the buyers who sent a key, $5 their keys, $6 their request
// hashes. A buyer whose key already has a row (a retry) takes no part: it is listed in recorded_before, and
// the batcher sends it to replay. The others are numbered again (eligible) and sold to as in the plain batch;
// each keyed one who gets a seat gets its key row in this statement (see idempotency-records.ts). Buyer n of
// a user gets that user's n-th ticket by id: the pairing the batcher answers with, so the ticket recorded for
// a key is the one its buyer is told about. A key recorded by another process after this statement's
// snapshot is a unique violation: nothing is sold, and the batcher runs the others again.
function keyedSql(counted: boolean): string {
  const count = '$2::int - (SELECT count(*) FROM recorded_before)::int';
  const buyers = counted
    ? `${countedCtes('eligible')}, ${bookSeatsCtes({ buyers: 'allowed AS buyer', count: `LEAST(${count}, (SELECT count(*) FROM allowed)::int)`, counted, issuedColumns: '*' })}`
    : bookSeatsCtes({ buyers: 'eligible AS buyer', count, counted, issuedColumns: '*' });
  return `WITH keyed AS (
    SELECT k.ord, b.user_id, k.key, k.request_hash
    FROM unnest($4::int[], $5::text[], $6::text[]) AS k(ord, key, request_hash)
    JOIN unnest($3::int[]) WITH ORDINALITY AS b(user_id, ord) ON b.ord = k.ord
  ), recorded_before AS (
    SELECT keyed.ord FROM keyed JOIN idempotency_keys r ON r.user_id = keyed.user_id AND r.key = keyed.key
  ), eligible AS (
    SELECT b.user_id, row_number() OVER (ORDER BY b.ord) AS ord, b.ord AS arrival
    FROM unnest($3::int[]) WITH ORDINALITY AS b(user_id, ord) WHERE b.ord NOT IN (SELECT ord FROM recorded_before)
  ), ${buyers}, granted_buyers AS (
    SELECT b.user_id, b.arrival, row_number() OVER (PARTITION BY b.user_id ORDER BY b.ord) AS nth
    FROM quota, ${counted ? 'allowed' : 'eligible'} b WHERE b.ord <= quota.granted
  ), numbered_tickets AS (
    SELECT i.id, i.user_id, ${ticketJson('i')} AS ticket, row_number() OVER (PARTITION BY i.user_id ORDER BY i.id) AS nth
    FROM issued i
  ), taken_json AS MATERIALIZED (
    -- The event's JSON once per batch, not once per key: a MATERIALIZED CTE is computed once (8% of this
    -- statement's time at 50 keys, measured alone).
    SELECT ${eventJson('taken')} AS event FROM taken
  ), recorded AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, ticket_id)
    SELECT k.user_id, k.key, k.request_hash, 200,
           jsonb_build_object('order', NULL, 'event', taken_json.event, 'tickets', jsonb_build_array(t.ticket)), t.id
    FROM keyed k
    JOIN granted_buyers b ON b.arrival = k.ord
    JOIN numbered_tickets t ON t.user_id = b.user_id AND t.nth = b.nth
    CROSS JOIN taken_json
    RETURNING user_id, key, response
  )${counted ? `, ${REFUSED}` : ''}
  ${SELECT}${counted ? `, ${REFUSED_COLUMNS}` : ''},
         (SELECT jsonb_agg(jsonb_build_object('user_id', user_id, 'key', key, 'response', response)) FROM recorded) AS recorded,
         (SELECT array_agg(ord::int) FROM recorded_before) AS recorded_before
  ${FROM}`;
}

export const BOOK_SEATS_KEYED_SQL = keyedSql(false);
export const BOOK_SEATS_COUNTED_KEYED_SQL = keyedSql(true);
