// The webhooks scenario of `npm run bench` (issue 17; `--skip-webhooks` leaves it out): POST /book on an
// event nobody listens to against POST /book on an event with one endpoint subscribed to ticket.booked (a
// local receiver answering 200 at once), in the same run, as a ratio. The batch statement then also writes
// one outbox row per ticket, and the server's delivery worker sends them meanwhile: both are the cost.
// The runs alternate (none, subscribed, subscribed, none; half the duration each), so a drift of the
// machine over the run weighs on both sides alike.
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
  /** Webhooks the receiver got by the end of the measured runs, and those still queued then (dropped after). */
  delivered: number;
  queued: number;
  /** For the bench's invariant check: each event and the 200s it answered, warm-up included. */
  events: { id: number; successes: number }[];
}

export async function runWebhookScenario(o: WebhookScenarioOptions): Promise<WebhookResults> {
  let delivered = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      delivered++;
      response.writeHead(200).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as { port: number };
  try {
    const plain = await o.createEvent('Webhooks: nobody subscribed');
    const hooked = await o.createEvent('Webhooks: ticket.booked subscribed');
    const endpoint = await subscribe(o, hooked, `http://127.0.0.1:${port}/bench`);

    await o.warmUp(o.bookRequests(plain, { duration: 2 }));
    await o.warmUp(o.bookRequests(hooked, { duration: 2 }));
    const warm = { plain: await o.ticketsSold(plain), hooked: await o.ticketsSold(hooked) };
    const half = Math.max(1, o.duration / 2);
    const runs: { none: Measured[]; subscribed: Measured[] } = { none: [], subscribed: [] };
    for (const side of ['none', 'subscribed', 'subscribed', 'none'] as const) {
      o.log(`webhooks: POST /book, ${side === 'none' ? 'nobody subscribed' : 'one endpoint subscribed to ticket.booked'}, ${half} s`);
      runs[side].push(await o.measure(o.bookRequests(side === 'none' ? plain : hooked, { duration: half })));
    }
    const queued = await queueDepth(o.baseUrl);
    const deliveredByEnd = delivered;
    // The backlog goes with the endpoint, so the worker does not send it during the later scenarios.
    await fetch(`${o.baseUrl}/webhooks/${endpoint}`, { method: 'DELETE', headers: { authorization: `Bearer ${o.ownerToken}` } });
    const none = combine(runs.none);
    const subscribed = combine(runs.subscribed);
    return {
      none,
      subscribed,
      ratio: subscribed.okPerSecond / none.okPerSecond,
      delivered: deliveredByEnd,
      queued,
      events: [
        { id: plain, successes: warm.plain + runs.none.reduce((sum, run) => sum + run.ok, 0) },
        { id: hooked, successes: warm.hooked + runs.subscribed.reduce((sum, run) => sum + run.ok, 0) },
      ],
    };
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
}

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
    row('one endpoint, ticket.booked', w.subscribed),
    '',
    `Ratio subscribed / none: ${n(w.ratio, 3)} (the issue allows down to about 0.9). Delivered meanwhile: ${n(w.delivered)} ` +
      `webhooks; ${n(w.queued)} still queued at the end (one endpoint is sent to one webhook at a time).`,
    '',
  ].join('\n');
}
