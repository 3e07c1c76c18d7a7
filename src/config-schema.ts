import { Type, type Static } from 'typebox';

// One schema for every setting: validated once at start-up, typed, documented in README and .env.example.
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  // postgres:// or postgresql://; the old service's SQLAlchemy forms (postgresql+asyncpg://, ...) are accepted too.
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?(\\+[A-Za-z0-9_]+)?://' })),
  // Issue 15: DATABASE_URL may point at PgBouncer in transaction mode; what needs a session goes direct.
  DATABASE_POOLER: Type.Union([Type.Literal('none'), Type.Literal('pgbouncer')], { default: 'none' }),
  DATABASE_DIRECT_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_READ_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_READ_MAX_LAG_MS: Type.Integer({ default: 2000, minimum: 0, maximum: 600000 }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  SECRET_KEY: Type.Optional(Type.String()),
  ALGORITHM: Type.Union([Type.Literal('HS256'), Type.Literal('HS384'), Type.Literal('HS512')], { default: 'HS256' }),
  ACCESS_TOKEN_EXPIRE_MINUTES: Type.Integer({ default: 30, minimum: 1, maximum: 525600 }),
  DB_POOL_SIZE: Type.Integer({ default: 8, minimum: 1, maximum: 200 }),
  BCRYPT_COST: Type.Optional(Type.Integer({ minimum: 10, maximum: 15 })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  BATCH_MAX_SIZE: Type.Integer({ default: 256, minimum: 1, maximum: 10000 }),
  BATCH_QUEUE_LIMIT: Type.Integer({ default: 5000, minimum: 1, maximum: 1000000 }),
  BATCHES_IN_FLIGHT: Type.Integer({ default: 1, minimum: 1, maximum: 8 }),
  // How long "sold out" is answered from memory, in every process, before the database is asked again.
  SOLD_OUT_MEMORY_MS: Type.Integer({ default: 250, minimum: 0, maximum: 60000 }),
  WORKERS: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  // Orders (issue 4): how often expired holds give their seats back and old idempotency keys are purged.
  HOLD_SWEEP_SECONDS: Type.Integer({ default: 5, minimum: 1, maximum: 3600 }),
  // Organizers (issue 5): true lets any user create events, as the old service did; false, organizers and admins only.
  OPEN_EVENT_CREATION: Type.Boolean({ default: true }),
  // Removed (issue 12): read only to refuse it, since a listed address made whoever registered it first an admin.
  ADMIN_EMAILS: Type.Optional(Type.String()),
  // Web box office (issue 16): the currency of events created without one.
  CURRENCY: Type.String({ default: 'EUR' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  // Limits without a default here take one from LIMIT_DEFAULTS: strict in production, loose in development.
  RATE_LIMIT_LOGIN_PER_MINUTE: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  RATE_LIMIT_LOGIN_FAILURES: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES: Type.Integer({ default: 15, minimum: 1, maximum: 1440 }),
  RATE_LIMIT_REGISTER_PER_HOUR: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  RATE_LIMIT_BOOKINGS_PER_MINUTE: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  LIVE_MAX_STREAMS_PER_IP: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  LIVE_MAX_STREAMS: Type.Integer({ default: 1000, minimum: 1, maximum: 1000000 }),
  // Fastify's trustProxy forms: unset/false, true, or comma-separated addresses and CIDRs (no hop count).
  TRUST_PROXY: Type.String({ default: '' }),
  METRICS_TOKEN: Type.Optional(Type.String()),
  METRICS_EVENT_LABELS: Type.Integer({ default: 100, minimum: 0, maximum: 100000 }),
  CORS_ORIGINS: Type.String({ default: '' }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({ default: 3000, minimum: 100, maximum: 60000 }),
  TOKEN_VERSION_CACHE_MS: Type.Integer({ default: 2000, minimum: 0, maximum: 60000 }),
  // Webhooks (issue 17).
  WEBHOOKS_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  WEBHOOKS_ALLOW_HTTP: Type.Optional(Type.Boolean()),
  WEBHOOKS_WORKER: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  WEBHOOKS_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 64 }),
  WEBHOOKS_POLL_MS: Type.Integer({ default: 500, minimum: 10, maximum: 60000 }),
  WEBHOOKS_TIMEOUT_MS: Type.Integer({ default: 10000, minimum: 100, maximum: 60000 }),
  WEBHOOKS_KEEP_DELIVERED_DAYS: Type.Integer({ default: 7, minimum: 1, maximum: 3650 }),
  WEBHOOKS_KEEP_FAILED_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 3650 }),
  WEBHOOKS_PURGE_SECONDS: Type.Integer({ default: 60, minimum: 1, maximum: 86400 }),
  // Waiting room (issue 14): how often each process runs the admission tick (only the leader admits) and
  // refreshes its in-memory list of rooms; also the staleness bound of that list. Well under a second, so
  // the per-second cap never binds on a rate the credit allows (a 1 s tick with any lag would lose rate).
  WAITING_ROOM_TICK_MS: Type.Integer({ default: 250, minimum: 10, maximum: 10000 }),
});

export type RawConfig = Static<typeof ConfigSchema>;
