import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authRoutes } from './auth/routes.js';
import { BookingBatcher } from './bookings/batcher.js';
import { bookingRoutes } from './bookings/routes.js';
import type { Config } from './config.js';
import type { Database, Db } from './db/client.js';
import { eventRoutes } from './events/routes.js';
import { authPlugin } from './http/auth.js';
import { registerErrorHandling } from './http/error-handler.js';
import { databaseProbe } from './http/health.js';
import { ErrorOut } from './http/schemas.js';

export interface Deps {
  config: Config;
  db: Db;
  batcher: BookingBatcher;
}

export interface BuildOptions {
  config: Config;
  database: Database;
  /** Pino options or false; tests pass false. */
  logger?: boolean | { level: string };
}

/** Builds the whole API without listening: server.ts listens, tests call it through inject or a port. */
export async function buildApp({ config, database, logger }: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: logger ?? { level: config.logLevel },
    bodyLimit: 1024 * 1024,
    // Lax like the old pydantic models ("5" is read as 5), but an array or object is never read as a number.
    ajv: { customOptions: { coerceTypes: true } },
    // Behind a proxy the client address comes from X-Forwarded-For; rate limits (issue 6) key on it.
    trustProxy: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const batcher = new BookingBatcher(database, {
    maxBatchSize: config.batchMaxSize,
    queueLimit: config.batchQueueLimit,
    soldOutTtlMs: 250,
    maxInFlight: config.batchesInFlight,
  });
  const deps: Deps = { config, db: database.db, batcher };

  registerErrorHandling(app);
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
  await app.register(authPlugin, { config });

  app.get(
    '/',
    { schema: { tags: ['service'], summary: 'Service name', response: { 200: Type.Object({ message: Type.String() }) } } },
    () => ({ message: 'BookFast API' }),
  );

  const probeDatabase = databaseProbe(database.db);
  app.get(
    '/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Liveness and database reachability',
        response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: ErrorOut },
      },
    },
    async (request, reply) => {
      try {
        await probeDatabase();
        return { status: 'ok' as const };
      } catch (error) {
        request.log.warn({ err: error }, 'health check: database unreachable');
        return reply.code(503).header('Retry-After', '1').send({ detail: 'Database unavailable' });
      }
    },
  );

  await app.register(authRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(bookingRoutes, deps);

  // In-flight batches answer before the pool closes.
  app.addHook('onClose', () => batcher.drain());
  return app;
}
