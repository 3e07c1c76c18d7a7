import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
  path: string;
  /** The sender's port: deliveries over one kept connection share it. */
  remotePort: number;
}

/** How the receiver answers one request; the default answers 200 at once. */
export type Responder = (request: IncomingMessage, response: ServerResponse, received: ReceivedWebhook) => void | Promise<void>;

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  respondWith(responder: Responder): void;
  /** Resolves once `predicate` holds over the received list (polling), or fails after `timeoutMs`. */
  waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A real receiver: node:http on loopback, a random port, recording every request it gets. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let responder: Responder = (_request, response) => void response.writeHead(200).end('ok');
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
      const entry = { id: headers['webhook-id'] ?? '', headers, body, json: JSON.parse(body) as ReceivedWebhook['json'], path: request.url ?? '', remotePort: request.socket.remotePort ?? 0 };
      received.push(entry);
      void Promise.resolve(responder(request, response, entry)).catch(() => response.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith(next) {
      responder = next;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met in ${timeoutMs} ms; got ${received.map((r) => `${r.id} ${r.json.type}`).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Verifies a delivery as a receiver would, with the Standard Webhooks library; throws when it does not verify. */
export function verifyDelivery(secret: string, delivery: ReceivedWebhook): unknown {
  return new Webhook(secret).verify(delivery.body, delivery.headers);
}
