import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { LiveSeats } from './seats.js';
import { NotFound } from '../errors.js';
import { findEvent } from '../inventory/reads.js';
import { ErrorOut, errorOut, ValidationErrorOut } from '../shapes/common.js';
import type { SeatsWatcher } from './seats.js';
import { startEventStream } from '../http/sse.js';
import { StreamCaps } from '../http/stream-caps.js';
import { EventIdParams } from '../shapes/events.js';

const HEARTBEAT_MS = 15_000;

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  live: LiveSeats;
  config: Config;
}

export async function liveRoutes(instance: FastifyInstance, { db, live, config }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  // request.ip is the forwarded client address only behind a proxy named in TRUST_PROXY.
  const caps = new StreamCaps(config.live.maxStreamsPerIp, config.live.maxStreams);

  app.get(
    '/events/:id/live',
    {
      schema: {
        tags: ['live'],
        summary: 'Seats left, live (Server-Sent Events)',
        description:
          'A `text/event-stream`. Each message is one `data:` line of JSON, ' +
          '`{"tickets_available": n, "tickets_sold": n, "total_tickets": n}`: one on connect, then one whenever the ' +
          'numbers change, in any server process; bursts are coalesced to at most 4 messages a second. A comment ' +
          'line comes every 15 s. The stream ends if the event is deleted. Use `EventSource` in a browser. ' +
          'Each server process holds at most LIVE_MAX_STREAMS_PER_IP streams per client address (429 past it) and ' +
          'LIVE_MAX_STREAMS in all (503).',
        params: EventIdParams,
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'The stream',
            content: {
              'text/event-stream': {
                schema: Type.String({ examples: ['data: {"tickets_available":488,"tickets_sold":12,"total_tickets":500}\n\n'] }),
              },
            },
          },
          404: errorOut('Event not found'),
          422: ValidationErrorOut,
          429: errorOut('Too many requests, retry in 5 s'),
          503: ErrorOut,
        },
      },
    },
    async (request, reply) => {
      const eventId = request.params.id;
      const release = caps.open(request.ip);
      try {
        // An unknown event is a plain 404, before any stream starts.
        if (!(await findEvent(db, eventId))) throw new NotFound('Event not found');
      } catch (error) {
        release();
        throw error;
      }
      const stream = startEventStream(reply, HEARTBEAT_MS);
      stream.onClose(release);
      const watcher: SeatsWatcher = { send: (snapshot) => stream.send(snapshot), end: () => stream.end() };
      // Whoever ends the stream (client, server, deleted event), the watcher goes with it.
      let gone = false;
      stream.onClose(() => {
        gone = true;
        live.unwatch(eventId, watcher);
      });
      if (gone) return;
      try {
        await live.watch(eventId, watcher);
      } catch (error) {
        // The headers are sent: all that is left to say is goodbye; EventSource reconnects by itself.
        request.log.warn({ err: error }, 'live seats: could not subscribe');
        stream.end();
      }
    },
  );
}
