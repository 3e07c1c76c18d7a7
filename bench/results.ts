// The results file of `npm run bench`: the rows checked against what the scenarios answered, then every
// figure in the shape report.ts renders and bench/results/*.json keep (people compare runs by it). A
// scenario --only left out is absent (undefined, so JSON.stringify drops it), and so is any ratio over it.
import { availableParallelism } from 'node:os';
import { checkBookedAcross, checkInvariant, checkKeyed, checkOrders, type Query } from './invariant-checks.js';
import type { ScenarioRuns, ScenarioSettings } from './scenarios.js';

const over = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);

export async function checkedResults(query: Query, s: ScenarioSettings, ran: ScenarioRuns) {
  const { oldDesign, health, book, keyed, crowded, limited, many, openLoop, sellout, orders, queue, webhooks } = ran;
  const ordersCheck = orders && (await checkOrders(query, orders.eventId));
  // Each event that ran, with the 200s it answered (warm-ups included): the hot event's warm-up always ran.
  const invariant = await checkInvariant(query, [
    ...Object.entries(queue?.successes ?? {}).map(([id, successes]) => ({ id: Number(id), successes })),
    { id: ran.hotEvent, successes: ran.warmupBookings + (book?.ok ?? 0) + openLoop.reduce((sum, run) => sum + run.ok + run.warmupOk, 0) },
    ...(sellout ? [{ id: sellout.eventId, successes: sellout.run.ok, exactly: s.selloutCapacity }] : []),
    ...(ran.oldEvent && oldDesign ? [{ id: ran.oldEvent, successes: oldDesign.committed }] : []),
    ...(orders ? [{ id: orders.eventId, successes: orders.run.ok }] : []),
    ...(keyed ? [{ id: keyed.eventId, successes: keyed.warmup + keyed.run.ok }] : []),
    ...(webhooks?.events ?? []),
    ...(limited ? [{ id: limited.eventId, successes: limited.warmup + limited.run.ok }] : []),
    ...(crowded ? [{ id: crowded.eventId, successes: crowded.warmup + crowded.run.ok }] : []),
    ...(many?.eventIds ?? []).map((id) => ({ id, successes: 0 })),
  ]);
  invariant.problems.push(...(ordersCheck?.problems ?? []), ...(keyed ? await checkKeyed(query, keyed.eventId) : []));
  if (many) invariant.problems.push(...(await checkBookedAcross(query, '(c-many)', many.eventIds, many.warmup + many.run.ok)));
  invariant.ok = invariant.problems.length === 0;

  const manyBook = many && { ...many.run, events: many.eventIds.length, warmup: many.warmup, meanBatchSize: many.meanBatchSize };
  return {
    at: new Date().toISOString(),
    machine: { cores: availableParallelism(), node: process.version },
    options: {
      connections: s.connections,
      duration: s.duration,
      capacity: s.capacity,
      workers: s.workers,
      buyers: ran.buyers,
      database: s.embedded ? ('embedded' as const) : ('postgres' as const),
      only: s.only,
    },
    oldDesign,
    health,
    book,
    keyedBook: keyed?.run,
    limitedBook: limited && { ...limited.run, maxPerUser: limited.maxPerUser, buyers: limited.buyers },
    crowdBook: crowded && { ...crowded.run, buyers: crowded.buyers },
    manyBook,
    ratios: {
      bookOverOldDesign: over(book?.okPerSecond, oldDesign?.perSecond),
      bookOverHealth: over(book?.requestsPerSecond, health?.requestsPerSecond),
      keyedOverBook: over(keyed?.run.okPerSecond, book?.okPerSecond),
      limitedOverBook: over(limited?.run.okPerSecond, book?.okPerSecond),
      limitedOverCrowd: over(limited?.run.okPerSecond, crowded?.run.okPerSecond),
      manyOverBook: over(manyBook?.okPerSecond, book?.okPerSecond),
    },
    openLoop,
    sellout: sellout && { capacity: s.selloutCapacity, attempts: s.selloutAttempts, sellOutSeconds: sellout.sellOutSeconds, ...sellout.run },
    orders: orders && ordersCheck && { ...orders.run, seats: orders.seats, seatsPerSecond: orders.seats / orders.run.seconds, orders: ordersCheck },
    queue,
    webhooks,
    invariant,
  };
}
