interface Run {
  requestsPerSecond: number;
  okPerSecond: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  serverCpuSeconds: number;
  benchCpuSeconds: number;
  seconds: number;
}

export interface BenchResults {
  at: string;
  /**
   * database is absent in results written before `--embedded` existed (they are all 'postgres'); only is the
   * `--only` list, present only in runs limited by it.
   */
  options: { connections: number; duration: number; workers: number; buyers: number; database?: 'postgres' | 'embedded'; only?: string[] | undefined };
  /** Absent on the embedded database: there is no PostgreSQL server to send the old transaction to. */
  oldDesign?: { tool: string; clients: number; perSecond: number; p50: number; p99: number; committed: number; benchCpuSeconds: number };
  /** (b), (c) and the sell-out are absent only in runs that `--only` limited (so are the ratios over them). */
  health?: Run | undefined;
  /** meanBatchSize is absent in results written before it was recorded. */
  book?: (Run & { meanBatchSize?: number }) | undefined;
  /** (c-key) POST /book with an Idempotency-Key per request; absent in results written before it existed. */
  keyedBook?: Run | undefined;
  /** (c-limit) POST /book on an event with a max_per_user; absent in results written before it existed (and
   *  its limit and crowd, in results written before the crowd). */
  limitedBook?: (Run & { maxPerUser?: number; buyers?: number }) | undefined;
  /** (c-crowd) POST /book by (c-limit)'s crowd on an event without a limit (PostgreSQL runs since the crowd). */
  crowdBook?: (Run & { buyers: number }) | undefined;
  /** (c-many) POST /book spread over `events` events; absent in results written before it existed. */
  manyBook?: (Run & { events: number }) | undefined;
  ratios: {
    bookOverOldDesign?: number | undefined;
    bookOverHealth?: number | undefined;
    keyedOverBook?: number | undefined;
    limitedOverBook?: number | undefined;
    limitedOverCrowd?: number | undefined;
    manyOverBook?: number | undefined;
  };
  /** maxSendLag is absent in results written before the open loop had its own generator. */
  openLoop: (Run & { share: number; rate: number; maxSendLag?: number })[];
  sellout?: (Run & { capacity: number; attempts: number; sellOutSeconds: number; ok: number }) | undefined;
  /** (d) POST /orders with quantities 1..4; absent in results written before it existed. */
  orders?: (Run & { seats: number; seatsPerSecond: number }) | undefined;
  invariant: { ok: boolean; problems: string[] };
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cpu = (run: Run) => `${n((run.serverCpuSeconds / run.seconds) * 100)}% / ${n((run.benchCpuSeconds / run.seconds) * 100)}%`;
const codes = (statuses: Record<string, number>) => Object.entries(statuses).map(([code, count]) => `${code}: ${n(count)}`).join(', ');

export function renderMarkdown(r: BenchResults): string {
  const { oldDesign: old, health, book, sellout } = r;
  const lines = [
    `## Flash-sale benchmark (${r.at})`,
    '',
    `${r.options.database === 'embedded' ? 'Embedded database (PGlite), ' : ''}${r.options.connections} connections, ${r.options.duration} s per run, ${r.options.workers} server process(es), ${r.options.buyers} buyers rotating tokens.${r.options.only ? ` Only ${r.options.only.join(', ')} (--only).` : ''}`,
    '',
    '| run | successful/s | requests/s | p50 ms | p99 ms | statuses | CPU server / bench |',
    '|---|---:|---:|---:|---:|---|---|',
    ...(old
      ? [
          `| (a) old design, SQL only (${old.tool}, ${old.clients} clients) | ${n(old.perSecond)} | – | ${n(old.p50, 1)}${old.tool === 'pgbench' ? ' (mean)' : ''} | ${Number.isNaN(old.p99) ? '–' : n(old.p99, 1)} | ${n(old.committed)} commits | – / ${n((old.benchCpuSeconds / r.options.duration) * 100)}% |`,
        ]
      : []),
    ...(health ? [`| (b) GET /health | ${n(health.okPerSecond)} | ${n(health.requestsPerSecond)} | ${health.p50} | ${health.p99} | ${codes(health.statuses)} | ${cpu(health)} |`] : []),
    ...(book ? [`| (c) POST /book | ${n(book.okPerSecond)} | ${n(book.requestsPerSecond)} | ${book.p50} | ${book.p99} | ${codes(book.statuses)} | ${cpu(book)} |`] : []),
    ...(r.keyedBook
      ? [`| (c-key) POST /book, Idempotency-Key per request | ${n(r.keyedBook.okPerSecond)} | ${n(r.keyedBook.requestsPerSecond)} | ${r.keyedBook.p50} | ${r.keyedBook.p99} | ${codes(r.keyedBook.statuses)} | ${cpu(r.keyedBook)} |`]
      : []),
    ...(r.manyBook
      ? [`| (c-many) POST /book spread over ${n(r.manyBook.events)} events | ${n(r.manyBook.okPerSecond)} | ${n(r.manyBook.requestsPerSecond)} | ${r.manyBook.p50} | ${r.manyBook.p99} | ${codes(r.manyBook.statuses)} | ${cpu(r.manyBook)} |`]
      : []),
    ...(r.crowdBook
      ? [`| (c-crowd) POST /book, no limit, ${n(r.crowdBook.buyers)} buyers | ${n(r.crowdBook.okPerSecond)} | ${n(r.crowdBook.requestsPerSecond)} | ${r.crowdBook.p50} | ${r.crowdBook.p99} | ${codes(r.crowdBook.statuses)} | ${cpu(r.crowdBook)} |`]
      : []),
    ...(r.limitedBook
      ? [`| (c-limit) POST /book, event with max_per_user${r.limitedBook.maxPerUser === undefined ? '' : ` ${n(r.limitedBook.maxPerUser)}, ${n(r.limitedBook.buyers ?? 0)} buyers`} | ${n(r.limitedBook.okPerSecond)} | ${n(r.limitedBook.requestsPerSecond)} | ${r.limitedBook.p50} | ${r.limitedBook.p99} | ${codes(r.limitedBook.statuses)} | ${cpu(r.limitedBook)} |`]
      : []),
    ...r.openLoop.map(
      (run) => `| POST /book open loop at ${n(run.rate)}/s (${run.share * 100}%) | ${n(run.okPerSecond)} | ${n(run.requestsPerSecond)} | ${run.p50} | ${run.p99} | ${codes(run.statuses)} | ${cpu(run)} |`,
    ),
    ...(sellout
      ? [
          `| sell-out: ${n(sellout.attempts)} attempts, ${n(sellout.capacity)} seats | ${n(sellout.okPerSecond)} | ${n(sellout.requestsPerSecond)} | ${sellout.p50} | ${sellout.p99} | ${codes(sellout.statuses)} | ${cpu(sellout)} |`,
        ]
      : []),
    ...(r.orders
      ? [`| (d) POST /orders, quantity 1..4 (${n(r.orders.seatsPerSecond)} seats/s) | ${n(r.orders.okPerSecond)} | ${n(r.orders.requestsPerSecond)} | ${r.orders.p50} | ${r.orders.p99} | ${codes(r.orders.statuses)} | ${cpu(r.orders)} |`]
      : []),
    '',
    ...(r.ratios.bookOverOldDesign === undefined
      ? []
      : [`- **(c)/(a) = ${n(r.ratios.bookOverOldDesign, 2)}** (bookings/s over HTTP vs the old design's transaction with no HTTP)`]),
    ...(r.ratios.bookOverHealth === undefined ? [] : [`- **(c)/(b) = ${n(r.ratios.bookOverHealth, 2)}** (POST /book requests/s vs GET /health)`]),
    ...(book?.meanBatchSize === undefined ? [] : [`- (c) booked ${n(book.meanBatchSize, 1)} buyers per statement on average`]),
    ...(r.ratios.keyedOverBook === undefined ? [] : [`- **(c-key)/(c) = ${n(r.ratios.keyedOverBook, 2)}** (bookings/s with a key per request vs without)`]),
    ...(r.ratios.manyOverBook === undefined ? [] : [`- **(c-many)/(c) = ${n(r.ratios.manyOverBook, 2)}** (bookings/s spread over many events vs one hot event)`]),
    ...(r.ratios.limitedOverBook === undefined ? [] : [`- **(c-limit)/(c) = ${n(r.ratios.limitedOverBook, 2)}** (bookings/s on an event with max_per_user vs without)`]),
    ...(r.ratios.limitedOverCrowd === undefined
      ? []
      : [`- **(c-limit)/(c-crowd) = ${n(r.ratios.limitedOverCrowd, 2)}** (the same crowd of buyers, an event with max_per_user vs one without)`]),
    ...r.openLoop.map(
      (run) =>
        `- open loop at ${run.share * 100}%: p99 ${run.p99} ms from each request's due time (the bar is under 50 ms at 80%)` +
        (run.maxSendLag === undefined ? '' : `; the generator ran at most ${n(run.maxSendLag, 1)} ms behind its schedule`),
    ),
    ...(sellout ? [`- sell-out: ${n(sellout.capacity)} seats gone in ${n(sellout.sellOutSeconds, 2)} s; sold exactly ${n(sellout.ok)} with 200`] : []),
    `- invariant (tickets_sold = booked rows >= 200 answers, never above capacity): ${r.invariant.ok ? 'holds' : `BROKEN: ${r.invariant.problems.join('; ')}`}`,
  ];
  return lines.join('\n') + '\n';
}
