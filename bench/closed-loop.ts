// The bench's own closed loop (undici), for the runs autocannon cannot make: a crowd of distinct tokens, and
// connections opened before the measured requests.
import { build as buildHistogram } from 'hdr-histogram-js';
import { Pool } from 'undici';
import { cpuMeter } from './cpu-seconds.js';
import { measuredRun, type Measured } from './measure.js';

type BuildRequest = (i: number) => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string };

/**
 * A closed loop over undici's pool: `connections` requests in flight at all times, request i built by
 * `build(i)`, until `total` were sent or `seconds` passed. Latency from send to full answer. With `warm`,
 * every connection is opened (one GET /health each, not counted) before the first measured request: the
 * buyers of a sale are already on the page when it starts, and 256 connects in one instant on the bench's
 * own two cores add hundreds of ms to the first requests of a short run.
 */
export async function closedLoop(
  url: string,
  connections: number,
  until: { total?: number; seconds?: number },
  build: BuildRequest,
  options: { warm?: boolean } = {},
) {
  const pool = new Pool(url, { connections, pipelining: 1 });
  if (options.warm) {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const response = await pool.request({ origin: url, method: 'GET', path: '/health' });
        await response.body.dump();
      }),
    );
  }
  const histogram = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const statuses: Record<string, number> = {};
  let next = 0;
  let errors = 0;
  const startedAt = Date.now();
  const started = performance.now();
  const deadline = until.seconds === undefined ? Infinity : started + until.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && (until.total === undefined || next < until.total)) {
      const request = build(next++);
      const sent = performance.now();
      try {
        const response = await pool.request({ origin: url, ...request });
        await response.body.dump();
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return { startedAt, seconds, requests, perSecond: requests / seconds, p50: histogram.getValueAtPercentile(50) / 1000, p99: histogram.getValueAtPercentile(99) / 1000, statuses, errors };
}

/**
 * closedLoop measured as measure() measures autocannon's runs (the same figures, CPU from before the
 * connections open), and when its first measured request left, for timings such as a sell-out's.
 */
export async function measureClosedLoop(
  serverPid: number,
  url: string,
  connections: number,
  until: { total?: number; seconds?: number },
  build: BuildRequest,
  options: { warm?: boolean } = {},
): Promise<{ run: Measured; startedAt: number }> {
  const cpu = cpuMeter(serverPid);
  const loop = await closedLoop(url, connections, until, build, options);
  const { seconds, requests, p50, p99, statuses, errors } = loop;
  return { run: measuredRun({ seconds, requests, p50, p99, statuses, errors, timeouts: 0, ...cpu() }), startedAt: loop.startedAt };
}
