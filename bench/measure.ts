// How a run is measured: the same figures for autocannon's closed loops, the bench's own (closed-loop.ts)
// and the open loop, with the server's CPU and the bench's beside them (they share the machine's cores).
import autocannon from 'autocannon';
import { cpuMeter } from './cpu-seconds.js';
import { runOpenLoop } from './open-loop.js';

/** One measured closed-loop run, as the results files record it (report.ts reads these fields). */
export type Measured = ReturnType<typeof measuredRun>;

/** A run's figures from its counts: the one place they are shaped, so every closed loop records the same keys. */
export function measuredRun(run: {
  seconds: number;
  requests: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  serverCpuSeconds: number;
  benchCpuSeconds: number;
}) {
  const ok = run.statuses['200'] ?? 0;
  return {
    seconds: run.seconds,
    requests: run.requests,
    requestsPerSecond: run.requests / run.seconds,
    ok,
    okPerSecond: ok / run.seconds,
    p50: run.p50,
    p99: run.p99,
    statuses: run.statuses,
    errors: run.errors,
    timeouts: run.timeouts,
    serverCpuSeconds: run.serverCpuSeconds,
    benchCpuSeconds: run.benchCpuSeconds,
  };
}

/** An autocannon run, measured. */
export async function measure(serverPid: number, options: autocannon.Options): Promise<Measured> {
  const cpu = cpuMeter(serverPid);
  const result = await autocannon({ timeout: 30, ...options });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]));
  return measuredRun({
    seconds: result.duration,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    ...cpu(),
  });
}

export interface OpenLoopRun {
  serverPid: number;
  url: string;
  connections: number;
  seconds: number;
  tokens: string[];
  eventId: number;
  rate: number;
}

// Open loop: a fixed schedule of POST /book (see open-loop.ts for why not autocannon's rate option).
export async function measureOpenLoop({ serverPid, url, connections, seconds, tokens, eventId, rate }: OpenLoopRun) {
  const cpu = cpuMeter(serverPid);
  const body = JSON.stringify({ event_id: eventId });
  // Built once, like autocannon's: the generator makes no garbage of its own per request.
  const requests = tokens.map((token) => ({
    method: 'POST' as const,
    path: '/book',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  }));
  const started = performance.now();
  const result = await runOpenLoop({ url, rate, seconds, warmupSeconds: 2, connections, request: (i) => requests[i % requests.length]! });
  // CPU was read over warm-up and measured part alike: scale it to the measured part.
  const measuredShare = result.seconds / ((performance.now() - started) / 1000);
  const used = cpu();
  return {
    ...measuredRun({
      seconds: result.seconds,
      requests: result.requests,
      p50: result.p50,
      p99: result.p99,
      statuses: result.statuses,
      errors: result.errors,
      timeouts: 0,
      serverCpuSeconds: used.serverCpuSeconds * measuredShare,
      benchCpuSeconds: used.benchCpuSeconds * measuredShare,
    }),
    // Seats the warm-up booked count for the invariant, not for the rates.
    warmupOk: result.warmupStatuses['200'] ?? 0,
    max: result.max,
    maxSendLag: result.maxSendLag,
    tail: result.tail,
  };
}
