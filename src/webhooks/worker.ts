import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import { setMaxListeners } from 'node:events';
import { retryDelayMs } from './backoff.js';
import { deliverPerKey } from './partitions.js';
import { claimEndpoint, headOfQueue, recordAttempts, releaseEndpoint, type Attempt, type AttemptResult, type ClaimedEndpoint, type HeadWebhook } from './queue.js';
import { keepAliveAgent, sendWebhook, type SendOutcome } from './sender.js';
import { signedHeaders } from './signing.js';
import type { TargetPolicy } from './target.js';

export interface WorkerOptions extends TargetPolicy {
  /** Deliveries in flight at once in this process (each to a different endpoint). */
  concurrency: number;
  pollMs: number;
  timeoutMs: number;
  log: FastifyBaseLogger;
  onOutcome?: (outcome: 'succeeded' | 'retrying' | 'failed') => void;
}

/** The envelope every receiver gets; `id` is the Webhook-Id, the same on every retry, for deduplication. */
export function envelopeOf(webhook: Pick<HeadWebhook, 'id' | 'type' | 'created_at' | 'data'>): { id: string; body: string } {
  const id = `msg_${webhook.id}`;
  const body = JSON.stringify({ id, type: webhook.type, created_at: new Date(webhook.created_at).toISOString(), data: webhook.data });
  return { id, body };
}

// Webhooks sent under one lease at most: the endpoint's next ones, recorded together (a lease per webhook
// cost four round trips each on a busy pool).
const PER_LEASE = 500;
// Requests in flight to one endpoint at once, each about a different resource (see partitions.ts), over as
// many kept connections. One at a time capped an endpoint at ~210 webhooks/s on a 2-core machine.
export const IN_FLIGHT_PER_ENDPOINT = 16;
// A lease stops starting new attempts this long before it could run out (one attempt, then recording).
const LEASE_MARGIN_MS = 2_000;

/**
 * Delivers the outbox: `concurrency` loops, each leasing an endpoint (of an owner no other loop of the
 * process serves), sending its oldest due webhooks, in order per resource, and recording the outcomes.
 * Runs beside the API in every process; the lease keeps them apart.
 */
export class DeliveryWorker {
  private readonly token = randomUUID();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly waiting = new Set<() => void>();
  private stopping = false;
  // Owners whose endpoint a loop of this process holds, and the claim in progress: claims take turns, so
  // that two loops never lease two endpoints of one owner at once.
  private readonly busyOwners = new Set<number>();
  private claiming: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly options: WorkerOptions,
  ) {
    // Every attempt in flight listens to it: loops × IN_FLIGHT_PER_ENDPOINT, past the default warning at 10.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
  }

  /** Something was just written to the outbox by this process: look now rather than at the next poll. */
  nudge(): void {
    for (const wake of [...this.waiting]) wake();
  }

  /** Stops taking work, cuts attempts in flight (they are sent again later, same id) and waits for the loops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.nudge();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await this.deliverOne();
      } catch (error) {
        if (!this.stopping) this.options.log.warn({ err: error }, 'webhooks: delivery loop failed; retrying');
      }
      if (!worked && !this.stopping) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.options.pollMs);
      this.waiting.add(done);
    });
  }

  private async deliverOne(): Promise<boolean> {
    // Longer than one attempt can take (the sender's timeout covers DNS, connect and answer), with room to
    // record it; a process killed mid-attempt holds the endpoint this long, then another takes over.
    const leaseSeconds = Math.ceil(this.options.timeoutMs / 1000) + 5;
    const leasedAt = performance.now();
    const endpoint = await this.claim(leaseSeconds);
    if (!endpoint) return false;
    try {
      return await this.deliverLeased(endpoint, leasedAt + leaseSeconds * 1000 - this.options.timeoutMs - LEASE_MARGIN_MS);
    } finally {
      this.busyOwners.delete(endpoint.owner_id);
    }
  }

  /** One claim at a time in this process, skipping the owners its loops already serve. */
  private claim(leaseSeconds: number): Promise<ClaimedEndpoint | null> {
    const claimed = this.claiming.then(async () => {
      const endpoint = await claimEndpoint(this.db, this.token, leaseSeconds, [...this.busyOwners.keys()]);
      if (endpoint) this.busyOwners.add(endpoint.owner_id);
      return endpoint;
    });
    this.claiming = claimed.catch(() => undefined);
    return claimed;
  }

  private async deliverLeased(endpoint: ClaimedEndpoint, lastStartAt: number): Promise<boolean> {
    const heads = await headOfQueue(this.db, endpoint.id, PER_LEASE).catch(async (error: unknown) => {
      await releaseEndpoint(this.db, endpoint.id, this.token);
      throw error;
    });
    const attempts = await this.sendLease(heads, endpoint, lastStartAt);
    if (attempts.length === 0) {
      await releaseEndpoint(this.db, endpoint.id, this.token);
      return false;
    }
    const recorded = await recordAttempts(this.db, endpoint.id, this.token, attempts);
    for (const { webhookId, result } of attempts) {
      if (recorded.has(webhookId) && result !== OUT_OF_SCOPE) this.options.onOutcome?.(result.status === 'pending' ? 'retrying' : result.status);
    }
    return true;
  }

  /**
   * Sends the due webhooks of a lease, each resource's in order and up to IN_FLIGHT_PER_ENDPOINT resources
   * at once over kept connections, until `lastStartAt` (performance.now() time, before the lease could run
   * out) has passed.
   */
  private async sendLease(heads: HeadWebhook[], endpoint: ClaimedEndpoint, lastStartAt: number): Promise<Attempt[]> {
    const attempts: Attempt[] = [];
    const url = new URL(endpoint.url);
    const agent = keepAliveAgent(url, IN_FLIGHT_PER_ENDPOINT);
    try {
      await deliverPerKey(heads, IN_FLIGHT_PER_ENDPOINT, async (head) => {
        // One not due yet (a retry's backoff) holds back its resource's later ones.
        if (!head.due || this.stopping || performance.now() > lastStartAt) return false;
        if (!head.in_scope) {
          attempts.push({ webhookId: head.id, result: OUT_OF_SCOPE });
          return true;
        }
        const { id, body } = envelopeOf(head);
        const headers = signedHeaders({ secret: endpoint.secret, previousSecret: endpoint.previous_secret }, id, new Date(), body);
        const outcome = await sendWebhook(url, headers, body, { ...this.options, signal: this.abort.signal, agent });
        // Cut by a shutdown: not the receiver's fault, no attempt counted; the next process sends it at once.
        if (this.stopping && outcome.error?.startsWith('aborted')) return false;
        const result = resultOf(head, outcome);
        attempts.push({ webhookId: head.id, result: { ...outcome, ...result } });
        // A failed one is retried later, and its resource's later ones wait for it.
        return result.status === 'succeeded';
      });
    } finally {
      agent.destroy();
    }
    return attempts;
  }
}

// Settled without a request: the owner lost the role that put the event in the endpoint's scope.
const OUT_OF_SCOPE: AttemptResult = {
  status: 'failed',
  retryInMs: 0,
  statusCode: null,
  error: 'not sent: the event is outside the endpoint’s scope (its owner is no longer an admin)',
  durationMs: 0,
};

function resultOf(head: HeadWebhook, outcome: SendOutcome): { status: 'succeeded' | 'failed' | 'pending'; retryInMs: number } {
  if (outcome.error === null) return { status: 'succeeded', retryInMs: 0 };
  const retryInMs = retryDelayMs(head.attempts + 1);
  // Past its 3 days: failed for good, listed as such; POST .../retry replays it.
  if (Date.now() + retryInMs > new Date(head.retry_until).getTime()) return { status: 'failed', retryInMs: 0 };
  return { status: 'pending', retryInMs };
}
