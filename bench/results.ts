// The results file of `npm run bench`: the rows checked against what the scenarios answered, then every
// figure in the shape report.ts renders and bench/results/*.json keep (people compare runs by it).
import { availableParallelism } from 'node:os';
import { checkBookedAcross, checkInvariant, checkKeyed, checkOrders, type Query } from './invariant-checks.js';
import type { ScenarioRuns, ScenarioSettings } from './scenarios.js';

export async function checkedResults(query: Query, s: ScenarioSettings, ran: ScenarioRuns) {
  const { oldDesign, health, book, keyed, limited, many, openLoop, sellout, orders, queue, webhooks } = ran;
  const ordersCheck = await checkOrders(query, orders.eventId);
  const invariant = await checkInvariant(query, [
    ...Object.entries(queue?.successes ?? {}).map(([id, successes]) => ({ id: Number(id), successes })),
    { id: ran.hotEvent, successes: ran.warmupBookings + book.ok + openLoop.reduce((sum, run) => sum + run.ok + run.warmupOk, 0) },
    { id: sellout.eventId, successes: sellout.run.ok, exactly: s.selloutCapacity },
    ...(ran.oldEvent && oldDesign ? [{ id: ran.oldEvent, successes: oldDesign.committed }] : []),
    { id: orders.eventId, successes: orders.run.ok },
    { id: keyed.eventId, successes: keyed.warmup + keyed.run.ok },
    ...(webhooks?.events ?? []),
    { id: limited.eventId, successes: limited.warmup + limited.run.ok },
    ...(many?.eventIds ?? []).map((id) => ({ id, successes: 0 })),
  ]);
  invariant.problems.push(...ordersCheck.problems, ...(await checkKeyed(query, keyed.eventId)));
  if (many) invariant.problems.push(...(await checkBookedAcross(query, '(c-many)', many.eventIds, many.warmup + many.run.ok)));
  invariant.ok = invariant.problems.length === 0;

  const manyBook = many && { ...many.run, events: many.eventIds.length, warmup: many.warmup };
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
    },
    oldDesign,
    health,
    book,
    keyedBook: keyed.run,
    limitedBook: limited.run,
    manyBook,
    ratios: {
      bookOverOldDesign: oldDesign ? book.okPerSecond / oldDesign.perSecond : undefined,
      bookOverHealth: book.requestsPerSecond / health.requestsPerSecond,
      keyedOverBook: keyed.run.okPerSecond / book.okPerSecond,
      limitedOverBook: limited.run.okPerSecond / book.okPerSecond,
      manyOverBook: manyBook ? manyBook.okPerSecond / book.okPerSecond : undefined,
    },
    openLoop,
    sellout: { capacity: s.selloutCapacity, attempts: s.selloutAttempts, sellOutSeconds: sellout.sellOutSeconds, ...sellout.run },
    orders: { ...orders.run, seats: orders.seats, seatsPerSecond: orders.seats / orders.run.seconds, orders: ordersCheck },
    queue,
    webhooks,
    invariant,
  };
}
