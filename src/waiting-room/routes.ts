import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { WaitingRoomRuntime } from './runtime.js';
import { Unauthorized } from '../errors.js';
import { bearer, ErrorOut, errorOut, ValidationErrorOut } from '../shapes/common.js';
import { startEventStream } from '../http/sse.js';
import { StreamCaps } from '../http/stream-caps.js';
import { QueueEntryOut, RoomPatchBody, RoomSettingsBody, StreamQuery, StreamTokenOut, WaitingRoomOut } from './schemas.js';
import { changeRoom, configureRoom, getRoom, joinQueue, myPlace, removeRoom, streamToken, type RoomDeps } from './service.js';
import { FINAL_STATUSES, QueueStreams } from './streams.js';
import { EventIdParams } from '../shapes/events.js';

const HEARTBEAT_MS = 15_000;
const tags = ['waiting room'];
const organizerErrors = { 401: ErrorOut, 403: errorOut('Only the event owner or an admin can run its waiting room'), 404: errorOut('Event not found'), 422: ValidationErrorOut };

/** What these routes take of what app.ts builds (src/deps.ts). */
interface RoutesDeps {
  db: Db;
  waitingRoom: WaitingRoomRuntime;
  config: Config;
}

export async function waitingRoomRoutes(instance: FastifyInstance, { db, waitingRoom, config }: RoutesDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const deps: RoomDeps = { db, room: waitingRoom, log: app.log };
  // Capped as /live is (per client address and per process: LIVE_MAX_STREAMS_PER_IP, LIVE_MAX_STREAMS), with a
  // count of their own; request.ip is the forwarded client address only behind a proxy named in TRUST_PROXY.
  const caps = new StreamCaps(config.live.maxStreamsPerIp, config.live.maxStreams);
  const streams = new QueueStreams(db, waitingRoom, {
    sessionCurrent: (session) => app.tokenVersions.isCurrent(session.userId, session.tokenVersion, session.issuedAt),
    log: app.log,
  });
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', (done) => {
    streams.close();
    done();
  });

  app.put(
    '/events/:id/waiting-room',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'Create or replace the event’s waiting room (owner or admin)',
        description: 'Replacing keeps everyone’s place in line. 422 when prequeue_opens_at is after onsale_at.',
        security: bearer,
        params: EventIdParams,
        body: RoomSettingsBody,
        response: { 200: WaitingRoomOut, ...organizerErrors },
      },
    },
    (request) => configureRoom(deps, request.params.id, request.user.id, request.body),
  );

  app.patch(
    '/events/:id/waiting-room',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'Change the room live: pause, passthrough, close, rate, max_active (owner or admin)',
        description: 'Takes effect at the admission leader’s next tick (WAITING_ROOM_TICK_MS, 250 ms by default).',
        security: bearer,
        params: EventIdParams,
        body: RoomPatchBody,
        response: { 200: WaitingRoomOut, ...organizerErrors },
      },
    },
    (request) => changeRoom(deps, request.params.id, request.user.id, request.body),
  );

  app.delete(
    '/events/:id/waiting-room',
    {
      onRequest: app.authenticate,
      schema: { tags, summary: 'Remove the room: the event sells as before', security: bearer, params: EventIdParams, response: { 204: Type.Null(), ...organizerErrors } },
    },
    async (request, reply) => {
      await removeRoom(deps, request.params.id, request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/events/:id/waiting-room',
    {
      schema: {
        tags,
        summary: 'The room’s settings and counts (public; counts at most about a second old)',
        params: EventIdParams,
        response: { 200: WaitingRoomOut, 404: errorOut('This event has no waiting room'), 422: ValidationErrorOut },
      },
    },
    async (request, reply) => reply.header('cache-control', 'public, max-age=1').send(await getRoom(db, request.params.id)),
  );

  app.post(
    '/events/:id/queue',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'Join the line (once per account)',
        description:
          '201 the first time, 200 with the same place after. 409 before prequeue_opens_at (`Queue not open yet`), ' +
          'when the room is closed or the event sold out (the detail points to the waiting list). 404: no room.',
        security: bearer,
        params: EventIdParams,
        response: { 200: QueueEntryOut, 201: QueueEntryOut, 401: ErrorOut, 404: errorOut('This event has no waiting room'), 409: errorOut('Queue not open yet'), 422: ValidationErrorOut },
      },
    },
    async (request, reply) => {
      const { created, entry } = await joinQueue(deps, request.params.id, request.user.id);
      return reply.code(created ? 201 : 200).send(entry);
    },
  );

  app.get(
    '/events/:id/queue/me',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'My place: position, people ahead, estimated wait, and my pass once admitted',
        description: 'Poll it every second or two: polling is how the room knows you are still here (see grace_seconds). Cacheable for a second.',
        security: bearer,
        params: EventIdParams,
        response: { 200: QueueEntryOut, 401: ErrorOut, 404: errorOut('Not in the queue: join it with POST /events/{id}/queue'), 422: ValidationErrorOut },
      },
    },
    async (request, reply) => reply.header('cache-control', 'private, max-age=1').send(await myPlace(deps, request.params.id, request.user.id)),
  );

  app.post(
    '/events/:id/queue/stream-token',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'A one-minute token that opens the push stream of my place (EventSource cannot send a header)',
        security: bearer,
        params: EventIdParams,
        response: { 200: StreamTokenOut, 401: ErrorOut, 404: errorOut('This event has no waiting room'), 422: ValidationErrorOut },
      },
    },
    (request) => streamToken(deps, request.params.id, { userId: request.user.id, tokenVersion: request.user.tokenVersion, issuedAt: request.user.issuedAt }),
  );

  app.get(
    '/events/:id/queue/stream',
    {
      schema: {
        tags,
        summary: 'My place, pushed (Server-Sent Events)',
        description:
          'Authorised by `?token=` from POST /events/{id}/queue/stream-token (checked when the stream opens). Each message is a ' +
          'QueueEntry as JSON, sent on connect and whenever it changes (at most once per tick); an open stream counts as polling. ' +
          'The stream ends once the status is final (expired, abandoned, closed), when the token expires (fetch a new one and ' +
          'reconnect) and when its login ends (logout, password change). Each server process holds at most ' +
          'LIVE_MAX_STREAMS_PER_IP queue streams per client address (429 past it) and LIVE_MAX_STREAMS in all (503).',
        params: EventIdParams,
        querystring: StreamQuery,
        produces: ['text/event-stream'],
        response: {
          200: { description: 'The stream', content: { 'text/event-stream': { schema: Type.String() } } },
          401: ErrorOut,
          404: ErrorOut,
          422: ValidationErrorOut,
          429: errorOut('Too many requests, retry in 5 s'),
          503: ErrorOut,
        },
      },
    },
    async (request, reply) => {
      const eventId = request.params.id;
      const release = caps.open(request.ip);
      let session: ReturnType<typeof waitingRoom.passes.verifyStreamToken>;
      let first: QueueEntryOut;
      try {
        session = waitingRoom.passes.verifyStreamToken(request.query.token, eventId);
        if (session === null) throw new Unauthorized('Invalid or expired stream token');
        if (!(await app.tokenVersions.isCurrent(session.userId, session.tokenVersion, session.issuedAt))) throw new Unauthorized('Token has been revoked');
        first = await myPlace(deps, eventId, session.userId);
      } catch (error) {
        release();
        throw error;
      }
      const stream = startEventStream(reply, HEARTBEAT_MS);
      stream.onClose(release);
      stream.send(first);
      if (FINAL_STATUSES.has(first.status)) return stream.end();
      streams.add(eventId, session, session.expiresAt * 1000, stream, first);
    },
  );
}
