import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { openDatabase, queryRows, type Database } from '../src/db/client.js';
import { bookSeats } from '../src/inventory/booking-batch.js';

// The outbox's cost inside the booking batch statement, on its own: the same batch of buyers booked again and
// again on one connection, on an event nobody subscribed to and on one with an endpoint (ticket.booked),
// alternating, in a throwaway database. Reports the statement's time and the WAL it writes per batch: the
// database's share of what the webhooks scenario of `npm run bench` measures over HTTP, without its noise.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/outbox-cost.ts [--batch 50] [--rounds 20]

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '20' },
    'per-round': { type: 'string', default: '50' },
  },
});
const url = process.env.DATABASE_URL;
if (!url) throw new Error('Set DATABASE_URL to a PostgreSQL server (a throwaway database is made there)');
const batchSize = Number(args.batch);
const rounds = Number(args.rounds);
const perRound = Number(args['per-round']);

const name = `bookfast_outbox_${randomBytes(4).toString('hex')}`;
const admin = await openDatabase({ databaseUrl: url });
await admin.db.execute(sql.raw(`CREATE DATABASE ${name}`));
const target = new URL(url);
target.pathname = `/${name}`;
let database: Database | undefined;
try {
  database = await openDatabase({ databaseUrl: target.toString(), poolSize: 1 });
  await database.migrate();
  if (process.env.PROBE_SQL) await database.db.execute(sql.raw(process.env.PROBE_SQL));
  const db = database.db;
  const [owner] = await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) VALUES ('owner@bench', 'x') RETURNING id`);
  const buyers = (
    await queryRows<{ id: number }>(db, sql`INSERT INTO users (email, password) SELECT 'b' || g || '@bench', 'x' FROM generate_series(1, ${batchSize}) g RETURNING id`)
  ).map((row) => row.id);
  const event = async (label: string) =>
    (
      await queryRows<{ id: number }>(
        db,
        sql`INSERT INTO events (event_name, date, ticket_price, total_tickets, owner_id) VALUES (${label}, now() + interval '30 days', 50, 100000000, ${owner!.id}) RETURNING id`,
      )
    )[0]!.id;
  const none = await event('nobody subscribed');
  const subscribed = await event('one endpoint');
  await db.execute(
    sql`INSERT INTO webhook_endpoints (owner_id, event_id, url, events, secret) VALUES (${owner!.id}, ${subscribed}, 'https://example.com/h', '{ticket.booked}', 'whsec_AAAA')`,
  );
  const walNow = async () => (await queryRows<{ lsn: string }>(db, sql`SELECT pg_current_wal_lsn()::text AS lsn`))[0]!.lsn;
  const walBytes = async (from: string, to: string) =>
    Number((await queryRows<{ bytes: string }>(db, sql`SELECT pg_wal_lsn_diff(${to}::pg_lsn, ${from}::pg_lsn)::text AS bytes`))[0]!.bytes);
  const sides = { none: { ms: 0, wal: 0, batches: 0 }, subscribed: { ms: 0, wal: 0, batches: 0 } };
  const runSide = async (side: keyof typeof sides, eventId: number) => {
    const from = await walNow();
    const started = performance.now();
    for (let i = 0; i < perRound; i++) {
      const outcome = await bookSeats(database!, eventId, buyers);
      if (outcome.kind !== 'booked' || outcome.granted !== batchSize) throw new Error('a batch did not sell whole');
    }
    sides[side].ms += performance.now() - started;
    sides[side].wal += await walBytes(from, await walNow());
    sides[side].batches += perRound;
  };
  // Warm-up: plans, caches, the first index pages.
  for (let i = 0; i < 3; i++) {
    await runSide('none', none);
    await runSide('subscribed', subscribed);
  }
  for (const side of Object.values(sides)) Object.assign(side, { ms: 0, wal: 0, batches: 0 });
  for (let r = 0; r < rounds; r++) {
    // Alternating, and each side first every other round, so drift (autovacuum, a checkpoint) falls on both.
    const order: (keyof typeof sides)[] = r % 2 === 0 ? ['none', 'subscribed'] : ['subscribed', 'none'];
    for (const side of order) await runSide(side, side === 'none' ? none : subscribed);
  }
  const per = (side: keyof typeof sides) => ({ ms: sides[side].ms / sides[side].batches, wal: sides[side].wal / sides[side].batches });
  const a = per('none');
  const b = per('subscribed');
  console.log(`batches of ${batchSize} buyers, ${sides.none.batches} per side, one connection`);
  console.log(`nobody subscribed: ${a.ms.toFixed(3)} ms and ${Math.round(a.wal)} WAL bytes per batch`);
  console.log(`one endpoint:      ${b.ms.toFixed(3)} ms and ${Math.round(b.wal)} WAL bytes per batch`);
  console.log(`outbox: +${(((b.ms - a.ms) / a.ms) * 100).toFixed(1)}% statement time, +${Math.round((b.wal - a.wal) / batchSize)} WAL bytes per ticket`);
} finally {
  await database?.close();
  await admin.db.execute(sql.raw(`DROP DATABASE IF EXISTS ${name}`));
  await admin.close();
}
