import type { FastifyReply } from 'fastify';

/** A Server-Sent Events response, written straight to the socket (Fastify steps aside). */
export interface EventStream {
  send(data: unknown): void;
  end(): void;
  /** Runs once when the stream ends, whoever ends it; at once if it already has. */
  onClose(listener: () => void): void;
}

// A client that stops reading is dropped rather than buffered for without end.
const MAX_BUFFERED_BYTES = 64 * 1024;

export function startEventStream(reply: FastifyReply, heartbeatMs: number): EventStream {
  reply.hijack();
  const res = reply.raw;
  const inherited: Record<string, string | number | string[]> = {};
  // Headers other hooks set on the reply (CORS, security headers) still apply.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) inherited[name] = value;
  res.writeHead(200, {
    ...inherited,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx and similar proxies would otherwise hold the messages back.
    'x-accel-buffering': 'no',
  });
  res.write('retry: 3000\n\n');

  // A comment line: keeps proxies from timing the connection out and finds dead clients.
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
  const listeners: (() => void)[] = [];
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const listener of listeners.splice(0)) listener();
  };
  res.on('close', finish);
  if (res.destroyed) finish();

  function write(text: string): void {
    if (closed) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    res.write(text);
  }

  return {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    end: () => {
      if (!closed) res.end();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}
