import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { authRoutes } from './auth/routes.js';
import { BookingBatcher } from './inventory/batcher.js';
import { OrderBatcher } from './inventory/order-batcher.js';
import { SeatChanges } from './inventory/seat-changes.js';
import { SoldOutMemory } from './inventory/sold-out.js';
import { bookingRoutes } from './bookings/routes.js';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Deps } from './deps.js';
import { eventRoutes } from './events/routes.js';
import { orderRoutes } from './orders/routes.js';
import { startHoldSweeper } from './orders/sweeper.js';
import { checkInRoutes } from './checkin/routes.js';
import { createSeatsBus } from './live/bus.js';
import { createNoticeChannel } from './live/notices.js';
import { liveRoutes } from './live/routes.js';
import { LiveSeats } from './live/seats.js';
import { organizerRoutes } from './organizers/routes.js';
import { WaitlistPromoter } from './waitlist/promoter.js';
import { waitlistRoutes } from './waitlist/routes.js';
import { guardRoutesAskingForPass, queueGate } from './waiting-room/gate.js';
import { waitingRoomRoutes } from './waiting-room/routes.js';
import { WaitingRoomRuntime } from './waiting-room/runtime.js';
import { authPlugin } from './auth/authenticate.js';
import { registerErrorHandling } from './http/error-handler.js';
import { securityPlugin } from './http/security.js';
import { databaseProbe } from './http/health.js';
import { lazyChildLoggerFactory, loggerOptions, type LoggerOptions } from './http/logging.js';
import { createMetrics, registerMetrics } from './metrics/metrics.js';
import { echoRequestId, requestIdFor } from './http/request-id.js';
import { registerWebApp } from './http/web-app.js';
import { ErrorOut } from './shapes/common.js';
import { CANONICAL_ID, checkIdsAsWritten } from './http/ids.js';
import { logOneLinePerRequest, prettyStream } from './http/dev-logging.js';
import { readMissingBodyAsEmpty } from './http/empty-body.js';
import { acceptOnlyUtf8Json } from './http/json-body.js';
import { webhooksPlugin } from './webhooks/plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What this process remembers as sold out (tests read it). */
    soldOutMemory: SoldOutMemory;
  }
}

export interface BuildOptions {
  config: Config;
  database: Database;
  /** Pino options (merged over the redacting defaults; `stream` captures lines) or false; tests pass false. */
  logger?: boolean | LoggerOptions;
  /** This process is one of several WORKERS: /metrics then answers for the whole cluster. */
  clusterWorker?: boolean;
  /** Where LOG_FORMAT=pretty lines go: stdout unless a test reads them. */
  prettyLogTo?: NodeJS.WritableStream;
}

/** Builds the whole API without listening: server.ts listens, tests call it through inject or a port. */
export async function buildApp({ config, database, logger, clusterWorker, prettyLogTo }: BuildOptions): Promise<FastifyInstance> {
  const prettyLog = config.logFormat === 'pretty' && logger === undefined;
  const app = Fastify({
    // A caller's own logger options (tests) keep pino's JSON; the server's own log follows LOG_FORMAT.
    logger: logger === false ? false : loggerOptions(config.logLevel, typeof logger === 'object' ? logger : prettyLog ? { stream: prettyStream(prettyLogTo) } : {}),
    // Pretty: the one line per request is ours (logOneLinePerRequest), not Fastify's two.
    ...(prettyLog ? { logController: new LogController({ disableRequestLogging: true }) } : {}),
    // X-Request-Id: a sane incoming one is kept, else generated; echoed on every answer (echoRequestId).
    requestIdHeader: false,
    genReqId: requestIdFor,
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: 1024 * 1024,
    // Lax like the old pydantic models ("5" is read as 5), but an array or object is never read as a number;
    // ids are stricter (http/ids.ts, whose marker keyword Ajv is told about here).
    ajv: { customOptions: { coerceTypes: true, keywords: [CANONICAL_ID] } },
    // Off by default: request.ip is the socket's peer. TRUST_PROXY names the proxies whose X-Forwarded-For
    // is believed; rate limits and live-stream caps key on request.ip (issue 12).
    trustProxy: config.trustProxy,
    // Errors the router raises before any route runs (a malformed URL, a path parameter over 100
    // characters) get the same {"detail": ...} body as every other error.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).code(error.statusCode ?? 400).send({ detail: error.message });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = createMetrics(database, { clusterWorker, eventLabels: config.metricsEventLabels });
  // Live seats (GET /events/{id}/live): seat changes are published across processes, coalesced per event.
  const live = new LiveSeats(database.db, (sink) => createSeatsBus(sink, { database, redisUrl: config.redisUrl, log: app.log }), {
    intervalMs: 250,
    log: app.log,
  });
  // Every committed seat change is announced once, here, and heard by whoever needs it.
  const changes = new SeatChanges((error) => app.log.error({ err: error }, 'seat changes: a listener failed'));
  const waitlist = new WaitlistPromoter(database.db, { log: app.log, changes });
  changes.on('changed', (eventId) => live.seatsChanged(eventId));
  // Seats that come back go to the waiting list first, right after the commit that returned them.
  changes.on('returned', (eventId) => waitlist.promote(eventId));
  changes.on('batchDone', (report) => metrics.batchObserver.batchDone(report));
  changes.on('refusedFromMemory', (eventId) => metrics.batchObserver.refusedFromMemory(eventId));
  // "Sold out" is shared with every process (through the transport live seats use) for SOLD_OUT_MEMORY_MS.
  const notices = createNoticeChannel({ database, redisUrl: config.redisUrl, log: app.log });
  const soldOut = new SoldOutMemory(changes, { ttlMs: config.soldOutMemoryMs, share: notices });
  const batcher = new BookingBatcher(database, {
    maxBatchSize: config.batchMaxSize,
    queueLimit: config.batchQueueLimit,
    maxInFlight: config.batchesInFlight,
    changes,
    soldOut,
  });
  // Orders and confirms, batched per event; they announce on the same channel.
  const orders = new OrderBatcher(database, {
    maxBatchSize: config.batchMaxSize,
    queueLimit: config.batchQueueLimit,
    maxInFlight: config.batchesInFlight,
    changes,
  });
  // Waiting room: rooms loaded before the first request (the pass check reads only memory), then ticking.
  const waitingRoom = new WaitingRoomRuntime(database.db, { tickMs: config.waitingRoomTickMs, secretKey: config.secretKey, log: app.log, registry: metrics.registry });
  await waitingRoom.start();
  const deps: Deps = {
    config,
    db: database.db,
    readDb: database.reads?.db ?? database.db,
    batcher,
    orders,
    changes,
    live,
    waitingRoom,
  };
  database.reads?.onSwitch((usingReplica, reason) =>
    usingReplica ? app.log.info(`reads: back on the replica (${reason})`) : app.log.warn(`reads: on the primary (${reason})`),
  );

  registerErrorHandling(app);
  checkIdsAsWritten(app);
  acceptOnlyUtf8Json(app);
  readMissingBodyAsEmpty(app);
  echoRequestId(app);
  if (prettyLog) logOneLinePerRequest(app);
  registerMetrics(app, metrics, { token: config.metricsToken });
  await app.register(securityPlugin, { config, db: database.db, registry: metrics.registry });
  await app.register(formbody);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'BookFast API',
        version: '1.0.0',
        description: 'Event ticketing that never oversells. Log in with the Authorize button (email as username).',
      },
      components: {
        securitySchemes: {
          OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/login', scopes: {} } } },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { config, db: database.db });

  app.get(
    '/',
    { schema: { tags: ['service'], summary: 'Service name', response: { 200: Type.Object({ message: Type.String() }) } } },
    () => ({ message: 'BookFast API' }),
  );

  const probe = databaseProbe(database, config.dbConnectTimeoutMs);
  app.addHook('onClose', () => probe.close());
  // Liveness for orchestrators: the process answers; it says nothing about the database (see /health/ready).
  app.get(
    '/health/live',
    { schema: { tags: ['service'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    () => ({ status: 'ok' as const }),
  );
  // /health (the old route) and /health/ready: ready to serve means the database answers.
  for (const url of ['/health', '/health/ready']) {
    app.get(
      url,
      {
        schema: {
          tags: ['service'],
          summary: 'Ready: the database answers',
          response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: ErrorOut },
        },
      },
      async (request, reply) => {
        try {
          await probe.check();
          return { status: 'ok' as const };
        } catch (error) {
          request.log.warn({ err: error }, 'health check: database unreachable');
          return reply.code(503).header('Retry-After', '1').send({ detail: 'Database unavailable' });
        }
      },
    );
  }

  // Before the routes: the selling routes ask for the queue-pass check by a route option.
  guardRoutesAskingForPass(app, queueGate(waitingRoom, database.db));
  await app.register(authRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(bookingRoutes, deps);
  await app.register(orderRoutes, deps);
  await app.register(checkInRoutes, deps);
  await app.register(organizerRoutes, deps);
  await app.register(liveRoutes, deps);
  await app.register(waitlistRoutes, deps);
  // Webhooks (issue 17): routes, this process's delivery worker and its metrics; the plugin starts and
  // stops its worker itself (onReady, preClose), independent of the shutdown order below.
  await app.register(webhooksPlugin, { config, db: database.db, registry: metrics.registry });
  await app.register(waitingRoomRoutes, deps);
  app.decorate('liveSeats', live);
  app.decorate('soldOutMemory', soldOut);
  app.decorate('waitingRoom', waitingRoom);
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', () => live.close());
  await registerWebApp(app);

  // During a graceful close, answers to requests already in flight also end their keep-alive connection:
  // otherwise those sockets turn idle after the close began and hold the server open for the 72 s
  // keep-alive timeout (new requests already get 503 and Connection: close from Fastify).
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  const sweeper = startHoldSweeper(database.db, changes, config.holdSweepSeconds, app.log);
  app.decorate('holdSweeper', sweeper);
  // The close, in this order, in one hook (Fastify runs onClose hooks last-registered-first, so separate
  // hooks would run in whatever order they happened to be added). Before it, Fastify's own first step has
  // stopped accepting and answered every request in flight. Then: no new sweep (and the running one ends),
  // no new admission tick (the one in progress and the last purchases' marks finish),
  // the batches already sent answer, and the promotions that they, cancels or the sweeper started finish.
  // Nothing is left to use the pool, which server.ts closes once app.close() resolves.
  app.addHook('onClose', async () => {
    await sweeper.stop();
    await waitingRoom.stop();
    await Promise.all([batcher.drain(), orders.drain()]);
    await waitlist.idle();
    await notices?.close();
  });
  return app;
}
