import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { resolveTarget, TargetRefused, type TargetPolicy } from './target.js';

// One HTTP attempt: POST the signed JSON to the address checked at send time, follow no redirect, read at
// most 64 KiB of the answer, give up after the timeout. Never throws: the outcome says what happened.

export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendOutcome {
  /** The receiver's status code, when it answered. */
  statusCode: number | null;
  /** Why the attempt did not succeed (null when it did). */
  error: string | null;
  durationMs: number;
}

export interface SendOptions extends TargetPolicy {
  timeoutMs: number;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
  /**
   * Keeps the connection for the next attempts to the same endpoint (a worker's lease, see keepAliveAgent);
   * without one, each attempt opens and closes its own.
   */
  agent?: http.Agent;
}

/**
 * Connections kept open across the attempts of one lease, `sockets` at most (one per request in flight): a
 * lease sends up to 500 webhooks to one endpoint, and a connection each cost a handshake on both ends and
 * left a socket in TIME_WAIT per webhook. A reused connection goes to the address that was checked when it
 * was opened. Destroy it after the lease.
 */
export function keepAliveAgent(url: URL, sockets: number): http.Agent {
  const options = { keepAlive: true, maxSockets: sockets };
  return url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

export async function sendWebhook(url: URL, headers: Record<string, string>, body: string, options: SendOptions): Promise<SendOutcome> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): SendOutcome => ({
    statusCode,
    error,
    durationMs: Math.round(performance.now() - started),
  });
  let target: { address: string; family: 4 | 6 };
  let dnsTimer: NodeJS.Timeout | undefined;
  try {
    // The timeout covers the lookup too: a worker's lease must outlast its longest attempt.
    const timedOut = new Promise<never>((_resolve, reject) => {
      dnsTimer = setTimeout(() => reject(new Error(`timeout after ${options.timeoutMs} ms`)), options.timeoutMs);
    });
    target = await Promise.race([resolveTarget(url, options), timedOut]);
  } catch (error) {
    return done(null, error instanceof TargetRefused ? `refused: ${error.message}` : `DNS: ${(error as Error).message}`);
  } finally {
    clearTimeout(dnsTimer);
  }
  const remainingMs = Math.max(1, options.timeoutMs - (performance.now() - started));
  // The connection goes to the checked address only: no second lookup an attacker's DNS could answer differently.
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    // `complete`: the answer was read to its end, so a kept connection may serve the next attempt.
    const finish = (statusCode: number | null, error: string | null, complete = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (!complete || !options.agent) request.destroy();
      resolve(done(statusCode, error));
    };
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: 'POST',
      lookup: pinned,
      agent: options.agent ?? false,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'BookFast-Webhooks/1',
      },
    });
    const timer = setTimeout(() => finish(null, `timeout after ${options.timeoutMs} ms`), remainingMs);
    const onAbort = () => finish(null, 'aborted: the server is shutting down');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => finish(null, error.message));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Enough read: the answer's body is not used, and an endless one must not hold the worker.
        if (received >= MAX_RESPONSE_BYTES) finish(status, outcomeError(status));
      });
      response.on('end', () => finish(status, outcomeError(status), true));
      response.on('error', (error) => finish(status, error.message));
    });
    request.end(body);
  });
}

function outcomeError(status: number): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `HTTP ${status}: redirects are not followed`;
  return `HTTP ${status}`;
}
