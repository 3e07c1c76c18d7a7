import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { DeliveredType, WebhookEventType } from './types.js';

// The transactional outbox: a webhook event is a row of webhook_outbox written by the very statement (or
// transaction) that makes the change, one row per subscribed endpoint. Committed change, committed row;
// rolled-back change, no row. The delivery worker (worker.ts) reads the rows after the commit.
//
// Cost when nobody listens: the subscriber CTE looks the event's three scope keys up once per statement
// (not per ticket) in webhook_endpoints_scope_key_idx, one index scan (an empty table is read as zero pages
// instead); finding nobody, the INSERT has no rows to write.

/**
 * The endpoints subscribed to `type` for the one BookFast event in relation `event` (columns id, owner_id):
 * endpoints of that event, endpoints of every event of its owner, and admins' endpoints of all events.
 */
export function subscribersSql(type: WebhookEventType, event: string): string {
  return `SELECT w.id FROM webhook_endpoints w, ${event} wh_ev
    WHERE w.scope_key = ANY (ARRAY['e' || wh_ev.id, 'o' || wh_ev.owner_id, 'a']) AND '${type}' = ANY (w.events)`;
}

export interface OutboxSplice {
  /** CTE name prefix, unique within the statement: the CTEs are `<name>_to` (subscribers) and `<name>`. */
  name: string;
  type: WebhookEventType;
  /** A relation of the statement holding the one BookFast event concerned (id, owner_id), e.g. `taken`. */
  event: string;
  /** The FROM list whose rows each become one webhook event, e.g. `taken, issued`. */
  from: string;
  /** SQL JSON expression of the webhook's data over `from` (see payload-sql.ts). */
  data: string;
  /** Optional filter over `from`; and an ORDER BY so that outbox ids (delivery order) follow it. */
  where?: string;
  orderBy?: string;
  /**
   * The outbox CTEs of the same statement whose rows must come first (e.g. the tickets before the
   * sold-out). Sibling CTEs run in no set order; reading each of `after` to its end first makes its ids
   * smaller. List every earlier one, not only the last: a CTE that writes no row reads none of its own.
   */
  after?: string[];
}

/**
 * Two CTEs to add to a data-modifying statement's WITH list (preceded by a comma). PostgreSQL runs every
 * data-modifying CTE of a statement whether or not it is referenced, within the statement's snapshot and
 * transaction: the outbox rows commit or roll back with the change.
 */
export function outboxCtes(splice: OutboxSplice): string {
  const to = `${splice.name}_to`;
  return `${to} AS MATERIALIZED (
    ${subscribersSql(splice.type, splice.event)}
  ), ${splice.name} AS (
    INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
    SELECT ${to}.id, '${splice.type}', (SELECT id FROM ${splice.event}), ${splice.data}
    FROM ${to}, ${splice.from}${(splice.after ?? []).map((earlier) => `, (SELECT count(*) FROM ${earlier}) ${earlier}_first`).join('')}${
      splice.where ? `\n    WHERE ${splice.where}` : ''
    }
    ORDER BY ${to}.id${splice.orderBy ? `, ${splice.orderBy}` : ''}
    RETURNING id
  )`;
}

/**
 * For the service side: records one webhook event whose data is already shaped in TypeScript. Call it with the
 * transaction (`tx`) that made the change, after the change's statement.
 */
export async function recordWebhookEvent(tx: Db, type: WebhookEventType, event: { id: number; owner_id: number | null }, data: unknown): Promise<void> {
  await tx.execute(
    sql`INSERT INTO webhook_outbox (endpoint_id, type, event_id, data)
        SELECT w.id, ${type}, ${event.id}::int, ${JSON.stringify(data)}::json
        FROM webhook_endpoints w
        WHERE w.scope_key = ANY (ARRAY['e' || ${event.id}::int, 'o' || ${event.owner_id}::int, 'a']) AND ${type} = ANY (w.events)
        ORDER BY w.id`,
  );
}

/**
 * A webhook for one endpoint only (the test ping), outside any change, unless `maxPending` of that type
 * already wait for the endpoint (null then). Two racing pings may both pass the count: the cap is per
 * request, not a lock, which is enough to keep a backlog from growing without bound.
 */
export async function recordForEndpoint(db: Db, endpointId: number, type: DeliveredType, data: unknown, maxPending: number): Promise<number | null> {
  const result = (await db.execute(
    sql`INSERT INTO webhook_outbox (endpoint_id, type, data)
        SELECT ${endpointId}, ${type}, ${JSON.stringify(data)}::json
        WHERE (SELECT count(*) FROM webhook_outbox WHERE endpoint_id = ${endpointId} AND status = 'pending' AND type = ${type}) < ${maxPending}
        RETURNING id`,
  )) as unknown as { rows: { id: number | string }[] };
  const row = result.rows[0];
  return row ? Number(row.id) : null;
}
