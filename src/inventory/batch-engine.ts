import { ServiceUnavailable } from '../errors.js';

/*
 * The batch engine: the queueing half of every batched statement, knowing nothing of what it batches.
 *
 *   const engine = new BatchEngine<Key, Item, Result>({ maxBatchSize, queueLimit, maxInFlight?, queueFullMessage, run });
 *   engine.submit(key, item): Promise<Result>   // 503 (ServiceUnavailable) at once when key's queue is full
 *   engine.waiting(key): number                 // items of key queued, not yet sent
 *   engine.drain(): Promise<void>               // every batch already sent has settled (graceful shutdown)
 *
 *   run(key, batch): Promise<void>, where batch is
 *     items            the items, in arrival order (readonly)
 *     startedAt        performance.now() when it was sent; waitedSeconds: how long its oldest item queued
 *     release()        the statement has settled: send the key's next batch now, while this one's answers are
 *                      written; returns the seconds since startedAt (idempotent: later calls return the same)
 *     requeue(i[])     put items i back at the head of the queue, ahead of newcomers (call before release)
 *     resolve(i, r) / reject(i, error)   answer item i (once; later answers of i are ignored)
 *
 * One batch per key is in flight (maxInFlight, default 1: a second would only queue on the key's row lock);
 * while it runs, newcomers queue, and the next batch is all of them (up to maxBatchSize). When run settles the
 * engine releases for it, and rejects every item not answered: with run's error if it threw, else with an
 * Error (a bug, but never a request left hanging). A key's queue exists only while it has items or a batch.
 */

export interface BatchEngineOptions<Key, Item, Result> {
  /** Most items one batch carries; bounds how long anyone waits behind a batch. */
  maxBatchSize: number;
  /** Items allowed to wait per key in this process; past it submit answers 503 + Retry-After. */
  queueLimit: number;
  /** Batches of one key running at once (default 1). */
  maxInFlight?: number;
  /** The 503's detail when a key's queue is full. */
  queueFullMessage: string;
  /** Sends one batch and answers its items (see the comment at the top of this file). */
  run: (key: Key, batch: Batch<Item, Result>) => Promise<void>;
}

export interface Batch<Item, Result> {
  readonly items: readonly Item[];
  readonly startedAt: number;
  readonly waitedSeconds: number;
  release(): number;
  requeue(indexes: readonly number[]): void;
  resolve(index: number, result: Result): void;
  reject(index: number, error: unknown): void;
}

interface Waiter<Item, Result> {
  item: Item;
  /** performance.now() when it joined the queue. */
  since: number;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

interface KeyQueue<Item, Result> {
  waiting: Waiter<Item, Result>[];
  inFlight: number;
}

export class BatchEngine<Key, Item, Result> {
  private readonly queues = new Map<Key, KeyQueue<Item, Result>>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: BatchEngineOptions<Key, Item, Result>) {}

  submit(key: Key, item: Item): Promise<Result> {
    let queue = this.queues.get(key);
    if (queue && queue.waiting.length >= this.options.queueLimit) {
      return Promise.reject(new ServiceUnavailable(this.options.queueFullMessage));
    }
    if (!queue) {
      queue = { waiting: [], inFlight: 0 };
      this.queues.set(key, queue);
    }
    const joined = queue;
    return new Promise<Result>((resolve, reject) => {
      joined.waiting.push({ item, since: performance.now(), resolve, reject });
      this.pump(key, joined);
    });
  }

  waiting(key: Key): number {
    return this.queues.get(key)?.waiting.length ?? 0;
  }

  /** Resolves once every batch already sent has settled and answered (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private pump(key: Key, queue: KeyQueue<Item, Result>): void {
    if (queue.inFlight >= (this.options.maxInFlight ?? 1) || queue.waiting.length === 0) return;
    const waiters = queue.waiting.splice(0, this.options.maxBatchSize);
    queue.inFlight++;
    const startedAt = performance.now();
    const answered = new Array<boolean>(waiters.length).fill(false);
    let releasedAfter: number | undefined;
    const release = (): number => {
      if (releasedAfter !== undefined) return releasedAfter;
      releasedAfter = (performance.now() - startedAt) / 1000;
      queue.inFlight--;
      if (queue.waiting.length > 0) this.pump(key, queue);
      else if (queue.inFlight === 0 && this.queues.get(key) === queue) this.queues.delete(key);
      return releasedAfter;
    };
    const answer = (index: number): Waiter<Item, Result> | undefined => {
      if (answered[index] !== false) return undefined;
      answered[index] = true;
      return waiters[index];
    };
    const batch: Batch<Item, Result> = {
      items: waiters.map((waiter) => waiter.item),
      startedAt,
      waitedSeconds: (startedAt - waiters[0]!.since) / 1000,
      release,
      requeue: (indexes) => {
        const back = indexes.map(answer).filter((waiter) => waiter !== undefined);
        if (back.length === 0) return;
        queue.waiting.unshift(...back);
        // The queue may have been emptied and dropped meanwhile (released already): make it current again.
        if (this.queues.get(key) !== queue) this.queues.set(key, queue);
        if (releasedAfter !== undefined) this.pump(key, queue);
      },
      resolve: (index, result) => answer(index)?.resolve(result),
      reject: (index, error) => answer(index)?.reject(error),
    };
    // Release first, then answer: the next batch is on its way while these rejections are written.
    const unanswered = (error: unknown) => {
      release();
      for (let i = 0; i < waiters.length; i++) answer(i)?.reject(error);
    };
    let started: Promise<void>;
    try {
      // Called synchronously, so the statement is sent before anything else this tick (see release).
      started = this.options.run(key, batch);
    } catch (error) {
      started = Promise.reject(error);
    }
    const run = started
      .then(
        () => unanswered(new Error('batch ended without answering every item')),
        (error: unknown) => unanswered(error),
      )
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }
}
