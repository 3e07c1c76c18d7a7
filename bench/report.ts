import type { OpenLoopResult } from './open-loop.js';

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
  manyBook?: (Run & { events: number; meanBatchSize?: number }) | undefined;
  ratios: {
    bookOverOldDesign?: number | undefined;
    bookOverHealth?: number | undefined;
    keyedOverBook?: number | undefined;
    limitedOverBook?: number | undefined;
    limitedOverCrowd?: number | undefined;
    manyOverBook?: number | undefined;
  };
  /** maxSendLag is absent in results written before the open loop had its own generator. */
  openLoop: (Run & { share: number; rate: number; maxSendLag?: number; tail?: OpenLoopResult['tail'] })[];
  sellout?: (Run & { capacity: number; attempts: number; sellOutSeconds: number; ok: number }) | undefined;
  /** (d) POST /orders with quantities 1..4; absent in results written before it existed. */
  orders?: (Run & { seats: number; seatsPerSecond: number }) | undefined;
  invariant: { ok: boolean; problems: string[] };
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cpu = (run: Run) => `${n((run.serverCpuSeconds / run.seconds) * 100)}% / ${n((run.benchCpuSeconds / run.seconds) * 100)}%`;
const codes = (statuses: Record<string, number>) => Object.entries(statuses).map(([code, count]) => `${code}: ${n(count)}`).join(', ');
/** The table's row of a closed-loop run, or none when it did not run (its label may name the run's own figures). */
function runRow<R extends Run>(run: R | undefined, label: (run: R) => string): string[] {
  if (!run) return [];
  return [`| ${label(run)} | ${n(run.okPerSecond)} | ${n(run.requestsPerSecond)} | ${run.p50} | ${run.p99} | ${codes(run.statuses)} | ${cpu(run)} |`];
}

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
          `| (a) old design, SQL only (${old.tool}, ${old.clients} clients) | ${n(old.perSecond)} | – | ${n(old.p50, 1)}${old.tool === 'pgbench' ? ' (mean)' : ''} | ${typeof old.p99 !== 'number' || Number.isNaN(old.p99) ? '–' : n(old.p99, 1)} | ${n(old.committed)} commits | – / ${n((old.benchCpuSeconds / r.options.duration) * 100)}% |`,
        ]
      : []),
    ...runRow(health, () => '(b) GET /health'),
    ...runRow(book, () => '(c) POST /book'),
    ...runRow(r.keyedBook, () => '(c-key) POST /book, Idempotency-Key per request'),
    ...runRow(r.manyBook, (run) => `(c-many) POST /book spread over ${n(run.events)} events`),
    ...runRow(r.crowdBook, (run) => `(c-crowd) POST /book, no limit, ${n(run.buyers)} buyers`),
    ...runRow(
      r.limitedBook,
      (run) => `(c-limit) POST /book, event with max_per_user${run.maxPerUser === undefined ? '' : ` ${n(run.maxPerUser)}, ${n(run.buyers ?? 0)} buyers`}`,
    ),
    ...r.openLoop.flatMap((run) => runRow(run, () => `POST /book open loop at ${n(run.rate)}/s (${run.share * 100}%)`)),
    ...runRow(sellout, (run) => `sell-out: ${n(run.attempts)} attempts, ${n(run.capacity)} seats`),
    ...runRow(r.orders, (run) => `(d) POST /orders, quantity 1..4 (${n(run.seatsPerSecond)} seats/s)`),
    '',
    ...(r.ratios.bookOverOldDesign === undefined
      ? []
      : [`- **(c)/(a) = ${n(r.ratios.bookOverOldDesign, 2)}** (bookings/s over HTTP vs the old design's transaction with no HTTP)`]),
    ...(r.ratios.bookOverHealth === undefined ? [] : [`- **(c)/(b) = ${n(r.ratios.bookOverHealth, 2)}** (POST /book requests/s vs GET /health)`]),
    ...(book?.meanBatchSize === undefined ? [] : [`- (c) booked ${n(book.meanBatchSize, 1)} buyers per statement on average`]),
    ...(r.ratios.keyedOverBook === undefined ? [] : [`- **(c-key)/(c) = ${n(r.ratios.keyedOverBook, 2)}** (bookings/s with a key per request vs without)`]),
    ...(r.ratios.manyOverBook === undefined ? [] : [`- **(c-many)/(c) = ${n(r.ratios.manyOverBook, 2)}** (bookings/s spread over many events vs one hot event)`]),
    ...(r.manyBook?.meanBatchSize === undefined ? [] : [`- (c-many) booked ${n(r.manyBook.meanBatchSize, 1)} buyers per statement on average`]),
    ...(r.ratios.limitedOverBook === undefined ? [] : [`- **(c-limit)/(c) = ${n(r.ratios.limitedOverBook, 2)}** (bookings/s on an event with max_per_user vs without)`]),
    ...(r.ratios.limitedOverCrowd === undefined
      ? []
      : [`- **(c-limit)/(c-crowd) = ${n(r.ratios.limitedOverCrowd, 2)}** (the same crowd of buyers, an event with max_per_user vs one without)`]),
    ...r.openLoop.map(
      (run) =>
        `- open loop at ${run.share * 100}%: p99 ${run.p99} ms from each request's due time (the bar is under 50 ms at 80%)` +
        (run.maxSendLag === undefined ? '' : `; the generator ran at most ${n(run.maxSendLag, 1)} ms behind its schedule`) +
        (run.tail === undefined
          ? ''
          : `; answers slower than the p99 came in ${run.tail.windows} of ${run.tail.of} 250 ms windows (the slowest window's median: ${n(run.tail.worstMedian, 1)} ms)`),
    ),
    ...(sellout ? [`- sell-out: ${n(sellout.capacity)} seats gone in ${n(sellout.sellOutSeconds, 2)} s; sold exactly ${n(sellout.ok)} with 200`] : []),
    `- invariant (tickets_sold = booked rows >= 200 answers, never above capacity): ${r.invariant.ok ? 'holds' : `BROKEN: ${r.invariant.problems.join('; ')}`}`,
  ];
  return lines.join('\n') + '\n';
}
