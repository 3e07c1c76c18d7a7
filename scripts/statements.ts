import { PgDialect } from 'drizzle-orm/pg-core';
import type { SQL } from 'drizzle-orm';
import type { Db } from '../src/db/client.js';
import { BOOK_SEATS_COUNTED_KEYED_SQL, BOOK_SEATS_COUNTED_SQL, BOOK_SEATS_KEYED_SQL, BOOK_SEATS_SQL } from '../src/inventory/booking-batch.sql.js';
import { ORDER_BATCH_KEYED_SQL, ORDER_BATCH_SQL } from '../src/inventory/order-batch.sql.js';
import { SETTLE_BATCH_SQL } from '../src/inventory/settle-batch.js';
import { lockEventReleasingExpiredHolds } from '../src/inventory/hold-expiry.js';
import { cancelOrder, cancelTicket, promoteWaitlist } from '../src/inventory/returns.js';
import { recordWebhookEvent } from '../src/outbox/outbox.js';
import { claimEndpoint, headOfQueue, recordAttempts } from '../src/webhooks/queue.js';
import { admissionTick } from '../src/waiting-room/admission.js';

// The hot statements as they are sent, with their parameters as $n placeholders: `npm run statements`
// writes them into statements/ beside the code that sends them, and test/statements.test.ts fails when a
// committed file differs, so a review shows the SQL change itself. Statements built with Drizzle's `sql` are
// captured by running their function against a recorder that answers with the rows given (none by default).

type Answer = (text: string) => unknown[];

function recorder(answer: Answer = () => []): { db: Db; sent: string[] } {
  const dialect = new PgDialect();
  const sent: string[] = [];
  const db = {
    execute: (query: SQL) => {
      const text = dialect.sqlToQuery(query).sql;
      sent.push(text);
      return Promise.resolve({ rows: answer(text) });
    },
    transaction: <T>(work: (tx: unknown) => Promise<T>) => work(db),
  };
  return { db: db as unknown as Db, sent };
}

async function captured(run: (db: Db) => Promise<unknown>, answer?: Answer): Promise<string[]> {
  const { db, sent } = recorder(answer);
  await run(db);
  return sent;
}

// One room on sale, not yet shuffled, with two people at the head of the line (one present, one gone): the
// tick then sends every statement it has.
const tickAnswers: Answer = (text) => {
  if (text.includes('pg_try_advisory_xact_lock')) return [{ leader: true }];
  if (text.includes('FOR NO KEY UPDATE OF r')) {
    const room = { event_id: 1, state: 'open', onsale: true, shuffled: false, sold_out: false, admit_per_minute: 600, max_active: 100 };
    return [{ ...room, pass_minutes: 10, grace_seconds: 30, last_position: 0, served_up_to: 0, admit_credit: 5 }];
  }
  if (text.includes('count(*)::int AS n FROM done')) return [{ n: 2 }];
  if (text.includes('pg_sleep')) return [{ at: '2026-01-01 00:00:00+00', since_last_tick: 1, active: 0, recent: 0, frees_in_ms: null, frees_at: null }];
  if (text.includes('AS present')) return [{ id: '1', position: 1, present: true }, { id: '2', position: 2, present: false }];
  if (text.includes('AS waited')) return [{ waited: 3 }];
  return [];
};

const attempt = { webhookId: 1, result: { statusCode: 200, error: null, durationMs: 1, status: 'succeeded' as const, retryInMs: 0 } };

/** File (from the repository's root) -> the statements it holds, in the order they are sent. */
export async function renderStatements(): Promise<Map<string, string>> {
  const files: [string, string[]][] = [
    ['src/inventory/statements/book-seats.sql', [BOOK_SEATS_SQL]],
    ['src/inventory/statements/book-seats-counted.sql', [BOOK_SEATS_COUNTED_SQL]],
    ['src/inventory/statements/book-seats-keyed.sql', [BOOK_SEATS_KEYED_SQL]],
    ['src/inventory/statements/book-seats-counted-keyed.sql', [BOOK_SEATS_COUNTED_KEYED_SQL]],
    ['src/inventory/statements/order-batch.sql', [ORDER_BATCH_SQL]],
    ['src/inventory/statements/order-batch-keyed.sql', [ORDER_BATCH_KEYED_SQL]],
    ['src/inventory/statements/confirm-batch.sql', [SETTLE_BATCH_SQL]],
    ['src/inventory/statements/expire-holds.sql', await captured((db) => lockEventReleasingExpiredHolds(db, 1))],
    ['src/inventory/statements/cancel-ticket.sql', await captured((db) => cancelTicket(db, 1, 1))],
    ['src/inventory/statements/cancel-held-order.sql', await captured((db) => cancelOrder(db, 1, 1, 'pending'))],
    ['src/inventory/statements/cancel-confirmed-order.sql', await captured((db) => cancelOrder(db, 1, 1, 'confirmed'))],
    ['src/inventory/statements/promote-waitlist.sql', await captured((db) => promoteWaitlist(db, 1))],
    ['src/outbox/statements/record-webhook-event.sql', await captured((db) => recordWebhookEvent(db, 'event.updated', { id: 1, owner_id: 1 }, {}))],
    ['src/webhooks/statements/claim-endpoint.sql', await captured((db) => claimEndpoint(db, 'token', 30))],
    ['src/webhooks/statements/head-of-queue.sql', await captured((db) => headOfQueue(db, 1, 50))],
    ['src/webhooks/statements/record-attempts.sql', await captured((db) => recordAttempts(db, 1, 'token', [attempt]))],
    ['src/waiting-room/statements/admission-tick.sql', await captured((db) => admissionTick(db, 1, '2026-01-01 00:00:01+00'), tickAnswers)],
  ];
  return new Map(files.map(([file, statements]) => [file, fileText(file, statements)]));
}

function fileText(file: string, statements: string[]): string {
  const header = `-- ${file.split('/').pop()}: rendered by \`npm run statements\` from the code beside this folder; do not edit.\n-- $n are the statement's parameters.\n`;
  return header + statements.map((text) => `\n${dedent(text)};\n`).join('');
}

/** The statement with its common indentation removed and no trailing blanks, as a reviewer reads it. */
function dedent(text: string): string {
  const lines = text.replace(/\s+$/, '').split('\n').map((line) => line.replace(/\s+$/, ''));
  const indents = lines.slice(1).filter((line) => line.trim()).map((line) => line.length - line.trimStart().length);
  const cut = Math.min(...indents, Infinity);
  return [lines[0]!.trim(), ...lines.slice(1).map((line) => line.slice(Number.isFinite(cut) ? cut : 0))].join('\n');
}
