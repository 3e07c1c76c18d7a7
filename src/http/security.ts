import cors from '@fastify/cors';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import { Redis } from 'ioredis';
import { memoryLoginThrottle, redisLoginThrottle, type LoginThrottle } from '../auth/login-throttle.js';
import type { Config } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    loginThrottle: LoginThrottle | undefined;
  }
}

const MINUTE = 60_000;

/**
 * Security headers, CORS, and abuse limits. Limits sit only on the routes an attacker profits from (login,
 * register, booking), declared here in one table and attached as routes are added, so /docs and its assets
 * are never throttled. Counters live in memory, or in Redis when REDIS_URL is set (shared by all processes).
 */
export const securityPlugin = fp(async (app: FastifyInstance, { config }: { config: Config }) => {
  // helmet's headers, computed once: @fastify/helmet rebuilds the middleware (and re-parses the CSP) on every
  // request, which cost the booking path more than its token check.
  const securityHeaders = helmet({
    // upgrade-insecure-requests is off: on plain HTTP (a LAN address, a test host) it would block every
    // script and style; TLS belongs to the proxy in front, which can add it.
    contentSecurityPolicy: {
      directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'], 'upgrade-insecure-requests': null },
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
  if (config.corsOrigins.length > 0) await app.register(cors, { origin: config.corsOrigins, exposedHeaders: ['Retry-After', 'X-Total-Count', 'Link'] });

  const limits = config.rateLimits;
  if (!limits.enabled) {
    app.decorate('loginThrottle', undefined);
    return;
  }
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  if (redis) {
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis unavailable for rate limits'));
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => undefined);
    });
  }
  const failureWindowMs = limits.loginFailureWindowMinutes * MINUTE;
  app.decorate(
    'loginThrottle',
    redis ? redisLoginThrottle(redis, limits.loginFailures, failureWindowMs) : memoryLoginThrottle(limits.loginFailures, failureWindowMs),
  );

  const perUser = (request: FastifyRequest) => (request.user ? `user:${request.user.id}` : `ip:${request.ip}`);
  const routeLimits: Record<string, RateLimitOptions> = {
    'POST /login': { max: limits.loginPerMinute, timeWindow: MINUTE },
    'POST /register': { max: limits.registerPerHour, timeWindow: 60 * MINUTE },
    // After authentication (preHandler), so the key is the buyer, not a shared NAT address.
    'POST /book': { max: limits.bookingsPerMinute, timeWindow: MINUTE, hook: 'preHandler', keyGenerator: perUser },
    'POST /orders': { max: limits.bookingsPerMinute, timeWindow: MINUTE, hook: 'preHandler', keyGenerator: perUser },
  };
  // Must run before the plugin's own onRoute hook reads route.config.rateLimit.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const limit = methods.map((method) => routeLimits[`${method} ${route.url}`]).find(Boolean);
    if (limit) route.config = { ...(route.config as object), rateLimit: limit };
  });
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis, skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests, retry in ${Math.ceil(context.ttl / 1000)} s`), { statusCode: context.statusCode }),
  });
});
