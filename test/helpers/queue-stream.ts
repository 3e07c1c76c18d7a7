import type { FastifyInstance } from 'fastify';
import type { TestUser } from './factories.js';
import type { QueueEntry } from './waiting-room.js';

// A client of GET /events/{id}/queue/stream over a real port, as EventSource would be.

export async function streamToken(app: FastifyInstance, user: TestUser, eventId: number): Promise<string> {
  const response = await app.inject({ method: 'POST', url: `/events/${eventId}/queue/stream-token`, headers: user.auth });
  if (response.statusCode !== 200) throw new Error(`stream-token failed: ${response.statusCode} ${response.body}`);
  return response.json<{ token: string }>().token;
}

/** Opens the stream; `next()` reads one message, `ended()` resolves once the server ends the stream. */
export async function openQueueStream(baseUrl: string, eventId: number, token: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/events/${eventId}/queue/stream?token=${encodeURIComponent(token)}`, { headers, signal: controller.signal });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status, next: () => Promise.reject(new Error('no stream')), ended: () => Promise.resolve(), close: () => controller.abort() };
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  const read = async (): Promise<boolean> => {
    if (done) return false;
    const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (chunk.done) done = true;
    else buffer += decoder.decode(chunk.value, { stream: true });
    return !done;
  };
  return {
    status: response.status,
    async next(): Promise<QueueEntry> {
      for (;;) {
        const match = /data: (.*)\n\n/.exec(buffer);
        if (match) {
          buffer = buffer.slice(match.index + match[0].length);
          return JSON.parse(match[1]!) as QueueEntry;
        }
        if (!(await read())) throw new Error('stream ended');
      }
    },
    async ended(): Promise<void> {
      while (await read());
    },
    close: () => controller.abort(),
  };
}

/** The login token's version and issue time (its `ver` and `iat`), to sign a stream token for it in a test. */
export function sessionOf(user: TestUser): { userId: number; tokenVersion: number; issuedAt: number } {
  const payload = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString()) as { ver: number; iat: number };
  return { userId: user.id, tokenVersion: payload.ver, issuedAt: payload.iat };
}
