// A true open-loop load generator: requests leave on a fixed schedule whatever the server does, and each
// latency is measured from the moment its request was DUE, not from when a free connection sent it.
//
// Why not autocannon's `overallRate`: it gives each connection a budget per second, so every connection
// fires back to back at the top of each second and then idles (bursts of `connections` requests, not a
// rate), and its coordinated-omission correction uses an expected interval of ceil(1 / per-connection
// rate) = 1 ms, which adds made-up samples to every latency above 1 ms. Neither is the open loop the issue
// asks for, so this measures it the way wrk2 does, with undici's pool as the HTTP client.
import { build as buildHistogram } from 'hdr-histogram-js';
import { Pool } from 'undici';

export interface OpenLoopOptions {
  url: string;
  /** Requests per second, sent on a fixed schedule. */
  rate: number;
  /** Measured seconds, after the warm-up. */
  seconds: number;
  /**
   * Seconds at the same rate before measuring starts (answers are counted, latencies are not): the pool
   * opens its connections and the server accepts them, as wrk2 calibrates before it records.
   */
  warmupSeconds: number;
  connections: number;
  /** The request number i (0, 1, 2, …): path, headers and body. */
  request: (i: number) => { method: 'POST' | 'GET'; path: string; headers: Record<string, string>; body?: string };
}

export interface OpenLoopResult {
  /** Of the measured part: its scheduled length, requests and answers. */
  seconds: number;
  requests: number;
  statuses: Record<string, number>;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** How far behind its schedule the generator fell at worst (ms), measured part only. */
  maxSendLag: number;
  /**
   * Where the tail is (measured part, cut by due time into 250 ms windows): how many windows hold an answer
   * slower than the p99, of how many, and the slowest window's median (ms). Few windows and a high median:
   * the tail is stalls of the whole machine, not unlucky requests spread over the run.
   */
  tail: { windows: number; of: number; worstMedian: number };
  /** Answers during the warm-up, which also booked seats, and requests that got none. */
  warmupStatuses: Record<string, number>;
  warmupErrors: number;
}

const TAIL_WINDOW_MS = 250;

function tailOf(windows: number[][], p99: number): OpenLoopResult['tail'] {
  const filled = windows.filter((window) => window !== undefined);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return {
    windows: filled.filter((window) => window.some((ms) => ms > p99)).length,
    of: filled.length,
    worstMedian: Math.round(Math.max(0, ...filled.map(median)) * 10) / 10,
  };
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
  const statuses: Record<string, number> = {};
  const warmupStatuses: Record<string, number> = {};
  let errors = 0;
  let warmupErrors = 0;
  let maxSendLag = 0;
  const interval = 1000 / options.rate;
  const warmup = Math.round(options.rate * options.warmupSeconds);
  const total = warmup + Math.round(options.rate * options.seconds);
  let inFlight = 0;
  // Each measured answer's latency (ms), by the window of its due time (see OpenLoopResult.tail).
  const windows: number[][] = [];
  let measuredFrom = 0;
  let drained: (() => void) | undefined;

  const finish = (measured: boolean, dueAt: number, status: number | undefined) => {
    const counts = measured ? statuses : warmupStatuses;
    if (status === undefined) {
      // No answer at all (connection refused or reset): counted apart, never as a fast latency.
      if (measured) errors += 1;
      else warmupErrors += 1;
    } else {
      counts[status] = (counts[status] ?? 0) + 1;
      // Microseconds from the due time, so the histogram keeps sub-millisecond detail.
      if (measured) {
        const ms = performance.now() - dueAt;
        latencies.recordValue(Math.max(1, Math.round(ms * 1000)));
        const window = Math.floor((dueAt - measuredFrom) / TAIL_WINDOW_MS);
        (windows[window] ??= []).push(ms);
      }
    }
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };

  // dispatch() with a bare handler rather than request(): no body stream per response, and one small object
  // per request, so the generator spends as little of the machine's two cores as it can (it shares them with
  // the server and PostgreSQL). undici 7's core takes this classic handler shape.
  class Handler {
    private status = 0;
    constructor(
      private readonly measured: boolean,
      private readonly dueAt: number,
    ) {}
    onConnect() {}
    onHeaders(statusCode: number) {
      this.status = statusCode;
      return true;
    }
    onData() {
      return true;
    }
    onComplete() {
      finish(this.measured, this.dueAt, this.status);
    }
    onError() {
      finish(this.measured, this.dueAt, undefined);
    }
  }

  const send = (i: number, dueAt: number) => {
    inFlight += 1;
    pool.dispatch(options.request(i), new Handler(i >= warmup, dueAt));
  };

  const start = performance.now();
  measuredFrom = start + warmup * interval;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const dueAt = start + sent * interval;
        if (sent >= warmup) maxSendLag = Math.max(maxSendLag, now - dueAt);
        send(sent, dueAt);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, start + sent * interval - performance.now())));
      else resolve();
    };
    tick();
  });
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  await pool.close();
  const ms = (us: number) => Math.round(us / 10) / 100;
  const p99Us = latencies.getValueAtPercentile(99);
  const result = {
    // The schedule's length: the time spent waiting for the last answers is not part of the rate.
    seconds: options.seconds,
    requests: total - warmup,
    statuses,
    errors,
    p50: ms(latencies.getValueAtPercentile(50)),
    p99: ms(p99Us),
    max: ms(latencies.maxValue),
    maxSendLag: Math.round(maxSendLag * 100) / 100,
    tail: tailOf(windows, p99Us / 1000),
    warmupStatuses,
    warmupErrors,
  };
  latencies.destroy();
  return result;
}
