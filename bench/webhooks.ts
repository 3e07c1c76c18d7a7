// The webhooks scenario of `npm run bench` (issue 17; `--skip-webhooks` leaves it out): POST /book on an
// event nobody listens to against POST /book on an event with one endpoint subscribed to ticket.booked (a
// local receiver), in the same run, as ratios. The batch statement then also writes one outbox row per ticket
// (the booking path's own cost), and the server's delivery worker sends them meanwhile (a cost of the same
// cores). The two are measured apart: `written`, an event whose endpoint's receiver never answers (the
// worker waits on one attempt, nothing is delivered), and `subscribed`, an event whose receiver answers 200
// at once while its runs go. The runs alternate (none, written, subscribed, subscribed, written, none; half the
// duration each), so a drift of the machine over the run weighs on every side alike.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type autocannon from 'autocannon';

interface Measured {
  seconds: number;
  ok: number;
  okPerSecond: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  serverCpuSeconds: number;
}

export interface WebhookScenarioOptions {
  baseUrl: string;
  duration: number;
  /** Owns the events it creates, so it may subscribe to them. */
  ownerToken: string;
  createEvent: (name: string) => Promise<number>;
  /** The bench's POST /book requests for an event (as scenario (c)), and its closed-loop measurement. */
  bookRequests: (eventId: number, options: Partial<autocannon.Options>) => autocannon.Options;
  measure: (options: autocannon.Options) => Promise<Measured>;
  warmUp: (options: autocannon.Options) => Promise<unknown>;
  ticketsSold: (eventId: number) => Promise<number>;
  log: (line: string) => void;
}

export interface WebhookSide {
  okPerSecond: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  serverCpuMsPerTicket: number;
}

export interface WebhookResults {
  none: WebhookSide;
  subscribed: WebhookSide;
  /** subscribed.okPerSecond / none.okPerSecond: 1 is free; the issue allows down to about 0.9. */
  ratio: number;
  /** Subscribed, but the receiver does not answer, so nothing is delivered: the outbox writes alone. Absent
   *  in results written before it existed. */
  written?: WebhookSide | undefined;
  writtenRatio?: number | undefined;
  /** Webhooks the receiver got by the end of the measured runs, and those still queued then (dropped after). */
  delivered: number;
  queued: number;
  /** For the bench's invariant check: each event and the 200s it answered, warm-up included. */
  events: { id: number; successes: number }[];
}

export async function runWebhookScenario(o: WebhookScenarioOptions): Promise<WebhookResults> {
  let delivered = 0;
  // '/bench' answers while the subscribed runs go; otherwise no request is answered, and the worker waits on
  // its one attempt per endpoint (10 s, then a retry after about 5 s): nothing is delivered meanwhile.
  let answering = false;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (!answering || request.url !== '/bench') return;
      delivered++;
      response.writeHead(200).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as { port: number };
  const endpoints: number[] = [];
  try {
    const plain = await o.createEvent('Webhooks: nobody subscribed');
    const silent = await o.createEvent('Webhooks: ticket.booked subscribed, receiver silent');
    const hooked = await o.createEvent('Webhooks: ticket.booked subscribed');
    endpoints.push(await subscribe(o, silent, `http://127.0.0.1:${port}/silent`));

    await o.warmUp(o.bookRequests(plain, { duration: 2 }));
    await o.warmUp(o.bookRequests(silent, { duration: 2 }));
    const warm = { plain: await o.ticketsSold(plain), silent: await o.ticketsSold(silent), hooked: 0 };
    const half = Math.max(1, o.duration / 2);
    const runs: Record<Side, Measured[]> = { none: [], written: [], subscribed: [] };
    const order: Side[] = ['none', 'written', 'subscribed', 'subscribed', 'written', 'none'];
    for (const [i, side] of order.entries()) {
      if (side === 'subscribed' && !answering) {
        endpoints.push(await subscribe(o, hooked, `http://127.0.0.1:${port}/bench`));
        answering = true;
        await o.warmUp(o.bookRequests(hooked, { duration: 2 }));
        warm.hooked = await o.ticketsSold(hooked);
      }
      o.log(`webhooks: POST /book, ${SIDE_LABELS[side]}, ${half} s`);
      runs[side].push(await o.measure(o.bookRequests({ none: plain, written: silent, subscribed: hooked }[side], { duration: half })));
      if (side === 'subscribed' && order[i + 1] !== 'subscribed') answering = false;
    }
    const queued = await queueDepth(o.baseUrl);
    const deliveredByEnd = delivered;
    // The backlogs go with their endpoints, so the worker does not send them during the later scenarios.
    for (const endpoint of endpoints) {
      await fetch(`${o.baseUrl}/webhooks/${endpoint}`, { method: 'DELETE', headers: { authorization: `Bearer ${o.ownerToken}` } });
    }
    const none = combine(runs.none);
    const written = combine(runs.written);
    const subscribed = combine(runs.subscribed);
    const okOf = (side: Side) => runs[side].reduce((sum, run) => sum + run.ok, 0);
    return {
      none,
      written,
      subscribed,
      writtenRatio: written.okPerSecond / none.okPerSecond,
      ratio: subscribed.okPerSecond / none.okPerSecond,
      delivered: deliveredByEnd,
      queued,
      events: [
        { id: plain, successes: warm.plain + okOf('none') },
        { id: silent, successes: warm.silent + okOf('written') },
        { id: hooked, successes: warm.hooked + okOf('subscribed') },
      ],
    };
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
}

type Side = 'none' | 'written' | 'subscribed';
const SIDE_LABELS: Record<Side, string> = {
  none: 'nobody subscribed',
  written: 'one endpoint subscribed to ticket.booked, its receiver silent (nothing delivered)',
  subscribed: 'one endpoint subscribed to ticket.booked, delivered meanwhile',
};

async function subscribe(o: WebhookScenarioOptions, eventId: number, url: string): Promise<number> {
  const response = await fetch(`${o.baseUrl}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, events: ['ticket.booked'], event_id: eventId }),
  });
  // 422 for a loopback URL: the server needs WEBHOOKS_ALLOW_PRIVATE=true (flash-sale.ts sets it).
  if (response.status !== 201) throw new Error(`POST /webhooks: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

async function queueDepth(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^bookfast_webhook_queue_depth (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

function combine(runs: Measured[]): WebhookSide {
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const statuses: Record<string, number> = {};
  for (const run of runs) for (const [code, count] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
  return {
    okPerSecond: ok / seconds,
    // Latencies: the worse of the runs (autocannon gives percentiles per run, not mergeable ones).
    p50: Math.max(...runs.map((run) => run.p50)),
    p99: Math.max(...runs.map((run) => run.p99)),
    statuses,
    serverCpuMsPerTicket: (runs.reduce((sum, run) => sum + run.serverCpuSeconds, 0) * 1000) / Math.max(1, ok),
  };
}

export function renderWebhooksMarkdown(w: WebhookResults): string {
  const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const codes = (statuses: Record<string, number>) => Object.entries(statuses).map(([code, count]) => `${code}: ${count}`).join(', ');
  const row = (label: string, side: WebhookSide) =>
    `| ${label} | ${n(side.okPerSecond)} | ${n(side.p50, 1)} | ${n(side.p99, 1)} | ${n(side.serverCpuMsPerTicket, 3)} | ${codes(side.statuses)} |`;
  return [
    '\n### Webhooks: POST /book with and without a subscriber\n',
    '| run | tickets/s | p50 ms | p99 ms | server CPU ms/ticket | answers |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    row('nobody subscribed', w.none),
    ...(w.written ? [row('one endpoint, ticket.booked, receiver silent (outbox writes only)', w.written)] : []),
    row(w.written ? 'one endpoint, ticket.booked, delivered meanwhile' : 'one endpoint, ticket.booked', w.subscribed),
    '',
    ...(w.written && w.writtenRatio !== undefined ? [`Ratio outbox writes only / none: ${n(w.writtenRatio, 3)} (the booking path's own cost).`] : []),
    `Ratio subscribed / none: ${n(w.ratio, 3)}${w.written ? ' (outbox writes and delivery on the same cores)' : ''} ` +
      `(the issue allows down to about 0.9). Delivered meanwhile: ${n(w.delivered)} ` +
      `webhooks; ${n(w.queued)} still queued at the end, the silent endpoint's included (up to 16 in flight per endpoint).`,
    '',
  ].join('\n');
}
