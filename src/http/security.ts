import { createRequire } from 'node:module';
import cors from '@fastify/cors';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { bookingLimitPerProcess, type Config } from '../config.js';
import type { Db } from '../db/client.js';
import { TooManyRequests } from '../errors.js';
import { AttemptCounters, type AttemptLimit } from './attempt-limits.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The per-account failure limit of login and password change; undefined with RATE_LIMITS=off. */
    failureLimit: FailureLimit | undefined;
  }
}

export interface FailureLimit {
  /**
   * Runs `check` (a password check) in a failure slot of `key`, taken first: 429 when the slots are used up.
   * A success clears the key's failures; a failure (`isFailure`) keeps its slot; any other error hands it back.
   */
  guard<T>(key: string, check: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T>;
}

const MINUTE = 60_000;

// The store @fastify/rate-limit uses with Redis, wrapped below to count its failures (the package has no hook).
interface RateLimitStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(routeOptions: object): RateLimitStore;
}
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  prefix: string,
) => RateLimitStore;

/**
 * Security headers, CORS, and abuse limits. Limits sit only on the routes an attacker profits from (login,
 * register, password change, booking), declared here and attached as routes are added, so /docs and its
 * assets are never throttled. Login, registration and password-change counters live in the database (exact
 * across processes and hosts); booking counters in memory per process, or in Redis when REDIS_URL is set.
 */
export const securityPlugin = fp(async (app: FastifyInstance, { config, db, registry }: { config: Config; db: Db; registry: Registry }) => {
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
    app.decorate('failureLimit', undefined);
    return;
  }

  // Login, registration and password change: counted in the database, exact across processes and hosts.
  const counters = new AttemptCounters(db);
  const failureWindow: AttemptLimit = { max: limits.loginFailures, windowMs: limits.loginFailureWindowMinutes * MINUTE };
  app.decorate('failureLimit', {
    async guard<T>(key: string, check: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
      const slot = await counters.take(`failures:${key}`, failureWindow);
      if (!slot.allowed) throw new TooManyRequests(Math.ceil(slot.ttlMs / 1000));
      let result: T;
      try {
        result = await check();
      } catch (error) {
        if (!isFailure(error)) await counters.giveBack(`failures:${key}`).catch(() => undefined);
        throw error;
      }
      await counters.reset(`failures:${key}`);
      return result;
    },
  });
  const perAddress: Record<string, AttemptLimit> = {
    'POST /login': { max: limits.loginPerMinute, windowMs: MINUTE },
    'POST /register': { max: limits.registerPerHour, windowMs: 60 * MINUTE },
  };
  // The client address is request.ip: the socket's peer, or with TRUST_PROXY the forwarded client address.
  const limitAddress = (route: string, limit: AttemptLimit) => async (request: FastifyRequest) => {
    const slot = await counters.take(`${route}:ip:${request.ip}`, limit);
    if (!slot.allowed) throw new TooManyRequests(Math.ceil(slot.ttlMs / 1000), 'requests');
  };
  const purge = setInterval(() => void counters.purgeExpired().catch(() => undefined), MINUTE).unref();
  app.addHook('onClose', () => clearInterval(purge));

  // Booking: the hot path, counted in memory per process (its share of the limit), or in Redis when set.
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  if (redis) {
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis unavailable for rate limits'));
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  const failedOpen = new Counter({
    name: 'bookfast_rate_limit_fail_open_total',
    help: 'Requests let through unlimited because the rate-limit store (Redis) failed',
    registers: [registry],
  });
  let warnedAt = 0;
  const countFailure = (error: Error) => {
    failedOpen.inc();
    if (Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    app.log.warn({ err: error }, 'rate limit store failed: booking limits fail open until it answers');
  };
  const perBuyer = (request: FastifyRequest) => (request.user ? `user:${request.user.id}` : `ip:${request.ip}`);
  // One count per buyer for every selling route (POST /book and POST /orders, holds included): one limiter,
  // so one store and one key, attached to each (per-route limits gave each route its own count, so a buyer
  // had the limit twice). It counts requests, not seats (each request sells at most max_per_order seats).
  const bookingLimit = { max: bookingLimitPerProcess(config), timeWindow: MINUTE, keyGenerator: perBuyer };
  const sellingRoutes = new Set(['POST /book', 'POST /orders']);
  let bookingLimiter: ReturnType<FastifyInstance['rateLimit']> | undefined;
  // Must run before the plugin's own onRoute hook reads route.config.rateLimit.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const keys = methods.map((method) => `${method} ${route.url}`);
    if (keys.some((key) => sellingRoutes.has(key))) {
      // After authentication (preHandler), so the key is the buyer, not a shared NAT address.
      bookingLimiter ??= app.rateLimit(bookingLimit);
      route.preHandler = [...toArray(route.preHandler), bookingLimiter];
    }
    const address = keys.find((key) => perAddress[key]);
    if (address) route.onRequest = [limitAddress(address, perAddress[address]!), ...toArray(route.onRequest)];
  });
  await app.register(rateLimit, {
    global: false,
    // Redis down: fail open (skipOnError) with a warning and a metric, never a 500 on the hot path.
    ...(redis ? { store: failureCountingStore(new RedisStore(false, false, redis, 'bookfast:rate-limit:'), countFailure), skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests, retry in ${Math.ceil(context.ttl / 1000)} s`), { statusCode: context.statusCode }),
  });
});

function toArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A store class for @fastify/rate-limit that reports every error of `inner` before passing it on. */
function failureCountingStore(inner: RateLimitStore, onError: (error: Error) => void): FastifyRateLimitStoreCtor {
  const wrap = (store: RateLimitStore): RateLimitStore => ({
    incr(key, callback, timeWindow, max) {
      store.incr(
        key,
        (error, result) => {
          if (error) onError(error);
          callback(error, result);
        },
        timeWindow,
        max,
      );
    },
    // The selling routes' one limiter has no route: its Redis keys are named `selling-` instead of `undefinedundefined-`.
    child: (routeOptions) => wrap(store.child({ ...routeOptions, routeInfo: { method: 'selling', url: '' } })),
  });
  return class {
    constructor() {
      return wrap(inner);
    }
  } as unknown as FastifyRateLimitStoreCtor;
}
