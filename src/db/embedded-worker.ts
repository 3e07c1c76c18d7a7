import { parentPort, workerData } from 'node:worker_threads';
import { Mutex, PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { EmbeddedReply, EmbeddedRequest, PreparedRequest, QueryRequest } from './embedded-protocol.js';

// The embedded PostgreSQL (PGlite, WebAssembly) runs every statement synchronously on the thread that owns
// it. Here that is this worker thread, so the server's event loop keeps parsing and answering requests while
// a statement runs. One statement or one whole transaction at a time, in arrival order (`turn`), so a
// transaction sees only its own statements.

const port = parentPort!;
const { pgdata } = workerData as { pgdata: string | undefined };
const db = await PGlite.create(pgdata);
// Named statements (the booking hot path) go through node-postgres on PGlite's own adapter, which parses
// and plans each once and then only binds and executes it: planning costs as much as running it here too.
const named = new pg.Client(createPgConfig(db));
await named.connect();
const turn = new Mutex();

/** Statements of each open transaction, in order, with a way to wake the transaction when one arrives. */
interface OpenTransaction {
  queue: (QueryRequest | { op: 'end'; id: number; commit: boolean })[];
  wake: (() => void) | undefined;
}
const transactions = new Map<number, OpenTransaction>();

const reply = (message: EmbeddedReply) => port.postMessage(message);

function replyError(id: number, error: unknown): void {
  // Structured clone keeps only an Error's message: copy the fields callers read (code, detail, constraint).
  const fields = Object.fromEntries(Object.entries(error as object).filter(([, value]) => typeof value !== 'object' && typeof value !== 'function'));
  reply({ id, error: { ...fields, message: (error as Error).message } });
}

// Drizzle passes pass-through parsers (functions cannot cross threads): rebuild them from the type ids.
function optionsOf(request: QueryRequest): QueryOptions {
  const parsers = Object.fromEntries((request.rawTypes ?? []).map((oid) => [oid, (value: string) => value]));
  return { rowMode: request.rowMode ?? 'object', parsers };
}

async function runPrepared(request: PreparedRequest): Promise<void> {
  try {
    const result = await named.query({ name: request.name, text: request.text, values: request.params });
    reply({ id: request.id, result: result.rows });
  } catch (error) {
    replyError(request.id, error);
  }
}

async function runQuery(executor: PGlite | Transaction, request: QueryRequest): Promise<void> {
  try {
    const result = await executor.query(request.text, request.params, optionsOf(request));
    reply({ id: request.id, result: { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows } });
  } catch (error) {
    replyError(request.id, error);
  }
}

function runTransaction(beginId: number): void {
  const open: OpenTransaction = { queue: [], wake: undefined };
  transactions.set(beginId, open);
  let endId = beginId;
  // The turn is held from BEGIN to COMMIT: nothing else runs on the one session in between.
  turn.runExclusive(() => db.transaction(async (tx) => {
    reply({ id: beginId, result: undefined });
    for (;;) {
      const next = open.queue.shift() ?? (await new Promise<void>((resolve) => (open.wake = resolve)), open.queue.shift());
      if (!next) continue;
      if (next.op === 'end') {
        endId = next.id;
        if (!next.commit) await tx.rollback();
        return;
      }
      await runQuery(tx, next);
    }
  })).then(
    () => reply({ id: endId, result: undefined }),
    (error: unknown) => replyError(endId, error),
  ).finally(() => transactions.delete(beginId));
}

function inTransaction(tx: number, message: OpenTransaction['queue'][number]): void {
  const open = transactions.get(tx);
  if (!open) return replyError(message.id, new Error('transaction is closed'));
  open.queue.push(message);
  open.wake?.();
  open.wake = undefined;
}

port.on('message', (message: EmbeddedRequest) => {
  switch (message.op) {
    case 'query':
      if (message.tx === undefined) void turn.runExclusive(() => runQuery(db, message));
      else inTransaction(message.tx, message);
      return;
    case 'prepared':
      void turn.runExclusive(() => runPrepared(message));
      return;
    case 'begin':
      return runTransaction(message.id);
    case 'end':
      return inTransaction(message.tx, message);
    case 'migrate':
      turn.runExclusive(() => migrate(drizzle({ client: db }), { migrationsFolder: message.folder })).then(
        () => reply({ id: message.id, result: undefined }),
        (error: unknown) => replyError(message.id, error),
      );
      return;
    case 'close':
      turn.runExclusive(async () => {
        await named.end();
        await db.close();
      }).then(
        () => {
          reply({ id: message.id, result: undefined });
          port.close();
        },
        (error: unknown) => replyError(message.id, error),
      );
      return;
  }
});
reply({ id: 0, result: undefined });
