import { Worker } from 'node:worker_threads';
import type { QueryOptions, Results } from '@electric-sql/pglite';
import type { EmbeddedReply, EmbeddedRequest, QueryRequest } from './embedded-protocol.js';

// The embedded PostgreSQL runs on a worker thread (embedded-worker.ts): a statement there no longer stalls
// every request on the event loop. This is the server side of it, shaped like the part of PGlite's client
// that drizzle's PGlite driver calls (query, transaction), so the same drizzle code serves both.

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = EmbeddedRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** What a transaction's callback gets: statements that run inside that transaction only. */
export interface EmbeddedTransaction {
  query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
}

export class EmbeddedClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: EmbeddedReply) => this.settle(reply));
    // A crashed worker fails every waiting statement as a lost connection (503), never a hang.
    worker.on('error', (error) => this.stop(error.message));
    worker.on('exit', (code) => this.stop(`exited with ${code}`));
  }

  /** Starts the thread and opens the database in `pgdata` (in memory when undefined). */
  static async open(pgdata: string | undefined): Promise<EmbeddedClient> {
    const worker = startWorker(pgdata);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(new Error(`the embedded database did not open: ${error.message}`));
      worker.once('error', failed);
      worker.once('message', () => {
        worker.off('error', failed);
        resolve();
      });
    });
    return new EmbeddedClient(worker);
  }

  query<T>(text: string, params?: unknown[], options?: QueryOptions, tx?: number): Promise<Results<T>> {
    const request: Omit<QueryRequest, 'id'> = {
      op: 'query',
      text,
      params,
      rowMode: options?.rowMode,
      rawTypes: options?.parsers ? passThroughTypes(options.parsers) : undefined,
      tx,
    };
    return this.send(request) as Promise<Results<T>>;
  }

  /** Rows of a named statement, parsed and planned once per database (see embedded-worker.ts). */
  prepared<T>(name: string, text: string, params: unknown[]): Promise<T[]> {
    return this.send({ op: 'prepared', name, text, params }) as Promise<T[]>;
  }

  async transaction<T>(work: (tx: EmbeddedTransaction) => Promise<T>): Promise<T> {
    const tx = this.nextId++;
    await this.send({ op: 'begin' }, tx);
    let result: T;
    try {
      result = await work({ query: (text, params, options) => this.query(text, params, options, tx) });
    } catch (error) {
      await this.send({ op: 'end', tx, commit: false }).catch(() => undefined);
      throw error;
    }
    await this.send({ op: 'end', tx, commit: true });
    return result;
  }

  async migrate(folder: string): Promise<void> {
    await this.send({ op: 'migrate', folder });
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    await this.send({ op: 'close' });
    await this.worker.terminate();
  }

  private send(request: Request, id = this.nextId++): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as EmbeddedRequest);
    });
  }

  private settle(reply: EmbeddedReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.error) waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
    else waiting.resolve(reply.result);
  }

  private stop(why: string): void {
    // 57P01 (admin shutdown) is what a PostgreSQL server says when it goes away: the error handler answers 503.
    this.stopped ??= Object.assign(new Error(`the embedded database stopped: ${why}`), { code: '57P01' });
    for (const waiting of this.pending.values()) waiting.reject(this.stopped);
    this.pending.clear();
  }
}

// From dist/ the compiled worker runs as is; from source (tsx, Vitest) tsx compiles it inside the thread.
function startWorker(pgdata: string | undefined): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const file = new URL(compiled ? './embedded-worker.js' : './embedded-worker.ts', import.meta.url);
  if (compiled) return new Worker(file, { workerData: { pgdata } });
  const bootstrap = `import { tsImport } from 'tsx/esm/api'; await tsImport(${JSON.stringify(file.href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(bootstrap, { eval: true, workerData: { pgdata } });
}

// Functions cannot cross to the worker, so only parsers that hand back PostgreSQL's text unchanged (what
// drizzle passes, for dates and intervals) are supported; anything else is refused, never silently dropped.
const checkedParsers = new WeakMap<object, number[]>();
function passThroughTypes(parsers: NonNullable<QueryOptions['parsers']>): number[] {
  let types = checkedParsers.get(parsers);
  if (!types) {
    const probe = '2000-01-01 00:00:00';
    for (const [oid, parse] of Object.entries(parsers)) {
      if (parse(probe, Number(oid)) !== probe) throw new Error(`the embedded database supports only pass-through parsers (type ${oid})`);
    }
    types = Object.keys(parsers).map(Number);
    checkedParsers.set(parsers, types);
  }
  return types;
}
