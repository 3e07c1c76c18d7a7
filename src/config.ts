import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { envSchema } from 'env-schema';
import { ConfigSchema, type RawConfig } from './config-schema.js';
import { currencyCode } from './currency.js';


export interface Config {
  production: boolean;
  databaseUrl: string | undefined;
  /** 'pgbouncer': DATABASE_URL is a transaction-mode pooler (no named statements, no session state). */
  databasePooler: 'none' | 'pgbouncer';
  /** A session-capable connection to the primary (not through the pooler): migrations and LISTEN. */
  databaseDirectUrl: string | undefined;
  /** A streaming replica for read-only lists; reads fall back to the primary when it is down or lags. */
  databaseReadUrl: string | undefined;
  databaseReadMaxLagMs: number;
  dataDir: string;
  port: number;
  host: string;
  secretKey: string;
  algorithm: 'HS256' | 'HS384' | 'HS512';
  accessTokenExpireMinutes: number;
  dbPoolSize: number;
  bcryptCost: number;
  logLevel: string;
  /** pretty: one readable line per request (development); json: pino's JSON lines (production). */
  logFormat: 'pretty' | 'json';
  batchMaxSize: number;
  batchQueueLimit: number;
  batchesInFlight: number;
  soldOutMemoryMs: number;
  workers: number;
  holdSweepSeconds: number;
  openEventCreation: boolean;
  /** ISO 4217, upper case: the currency of events whose owner names none. */
  currency: string;
  redisUrl: string | undefined;
  rateLimits: {
    enabled: boolean;
    loginPerMinute: number;
    /** Failed logins, and failed password changes, per account in the window. */
    loginFailures: number;
    loginFailureWindowMinutes: number;
    registerPerHour: number;
    /** For the whole deployment; without Redis each process enforces its share (see bookingLimitPerProcess). */
    bookingsPerMinute: number;
  };
  live: { maxStreamsPerIp: number; maxStreams: number };
  /** Fastify's `trustProxy`: false, true, or the proxies' addresses and CIDRs. */
  trustProxy: boolean | string[];
  /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Events with their own `event_id` label on /metrics; the rest are summed under "other". */
  metricsEventLabels: number;
  corsOrigins: string[];
  dbConnectTimeoutMs: number;
  tokenVersionCacheMs: number;
  webhooks: {
    /** Deliver to loopback, link-local and private addresses too (tests, a receiver on the same network). */
    allowPrivate: boolean;
    /** http:// endpoints besides https://; default: true outside production. */
    allowHttp: boolean;
    /** Run the delivery worker in this process. */
    worker: boolean;
    concurrency: number;
    pollMs: number;
    timeoutMs: number;
    /** Settled deliveries are kept this long after their last attempt, then purged (retention.ts). */
    keepDeliveredDays: number;
    keepFailedDays: number;
    /** How often the purge runs (one process at a time). */
    purgeSeconds: number;
  };
  waitingRoomTickMs: number;
}

export class ConfigError extends Error {}

const MIN_SECRET_BYTES = 32;
const MAKE_A_KEY = `make one with: node -e "console.log(require('node:crypto').randomBytes(48).toString('base64url'))" (or: openssl rand -base64 48)`;

export interface LoadConfigOptions {
  dotenv?: boolean;
  /** Where a setting that is accepted but rewritten is reported (one line each). Default: stderr. */
  warn?: (line: string) => void;
}

/** Reads the environment (and `.env`) once; throws ConfigError with a message meant for the operator. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  let raw: RawConfig;
  try {
    raw = envSchema<RawConfig>({ schema: ConfigSchema, data: env, env: false, dotenv: (options.dotenv ?? true) ? { quiet: true } : false });
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  const production = raw.NODE_ENV === 'production';
  if (raw.ADMIN_EMAILS?.trim()) {
    throw new ConfigError('ADMIN_EMAILS was removed: it made whoever registered a listed address first an admin. Promote an existing account with `npm run user:promote -- <email> admin` (docs/api/organizers.md)');
  }
  const defaults = production ? LIMIT_DEFAULTS.production : LIMIT_DEFAULTS.development;
  const dataDir = resolve(raw.DATA_DIR);
  const databaseUrl = withoutSqlAlchemyDriver(raw.DATABASE_URL || undefined, options.warn ?? ((line) => console.warn(`bookfast: ${line}`)));
  const redisUrl = raw.REDIS_URL || undefined;
  const databaseDirectUrl = raw.DATABASE_DIRECT_URL || undefined;
  const databaseReadUrl = raw.DATABASE_READ_URL || undefined;
  if (!databaseUrl && (raw.DATABASE_POOLER !== 'none' || databaseDirectUrl || databaseReadUrl)) {
    throw new ConfigError('DATABASE_POOLER, DATABASE_DIRECT_URL and DATABASE_READ_URL need DATABASE_URL (a PostgreSQL server)');
  }
  // LISTEN needs a session, which a transaction-mode pooler does not keep: live seats need one of the two.
  if (raw.DATABASE_POOLER === 'pgbouncer' && !databaseDirectUrl && !redisUrl) {
    throw new ConfigError('DATABASE_POOLER=pgbouncer: live seats need DATABASE_DIRECT_URL (for LISTEN) or REDIS_URL');
  }
  return {
    production,
    databaseUrl,
    databasePooler: raw.DATABASE_POOLER,
    databaseDirectUrl,
    databaseReadUrl,
    databaseReadMaxLagMs: raw.DATABASE_READ_MAX_LAG_MS,
    dataDir,
    port: raw.PORT,
    host: raw.HOST,
    secretKey: resolveSecretKey(raw.SECRET_KEY, production, dataDir),
    algorithm: raw.ALGORITHM,
    accessTokenExpireMinutes: raw.ACCESS_TOKEN_EXPIRE_MINUTES,
    dbPoolSize: raw.DB_POOL_SIZE,
    bcryptCost: raw.BCRYPT_COST ?? (production ? 12 : 10),
    logLevel: raw.LOG_LEVEL,
    logFormat: raw.LOG_FORMAT ?? (production ? 'json' : 'pretty'),
    batchMaxSize: raw.BATCH_MAX_SIZE,
    batchQueueLimit: raw.BATCH_QUEUE_LIMIT,
    batchesInFlight: raw.BATCHES_IN_FLIGHT,
    soldOutMemoryMs: raw.SOLD_OUT_MEMORY_MS,
    workers: resolveWorkers(raw.WORKERS, production, Boolean(raw.DATABASE_URL)),
    holdSweepSeconds: raw.HOLD_SWEEP_SECONDS,
    openEventCreation: raw.OPEN_EVENT_CREATION,
    currency: resolveCurrency(raw.CURRENCY),
    redisUrl,
    rateLimits: {
      enabled: raw.RATE_LIMITS === 'on',
      loginPerMinute: raw.RATE_LIMIT_LOGIN_PER_MINUTE ?? defaults.loginPerMinute,
      loginFailures: raw.RATE_LIMIT_LOGIN_FAILURES ?? defaults.loginFailures,
      loginFailureWindowMinutes: raw.RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES,
      registerPerHour: raw.RATE_LIMIT_REGISTER_PER_HOUR ?? defaults.registerPerHour,
      bookingsPerMinute: raw.RATE_LIMIT_BOOKINGS_PER_MINUTE ?? defaults.bookingsPerMinute,
    },
    live: { maxStreamsPerIp: raw.LIVE_MAX_STREAMS_PER_IP ?? defaults.liveStreamsPerIp, maxStreams: raw.LIVE_MAX_STREAMS },
    trustProxy: parseTrustProxy(raw.TRUST_PROXY),
    metricsToken: resolveMetricsToken(raw.METRICS_TOKEN),
    metricsEventLabels: raw.METRICS_EVENT_LABELS,
    corsOrigins: raw.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
    dbConnectTimeoutMs: raw.DB_CONNECT_TIMEOUT_MS,
    tokenVersionCacheMs: raw.TOKEN_VERSION_CACHE_MS,
    webhooks: {
      allowPrivate: raw.WEBHOOKS_ALLOW_PRIVATE,
      allowHttp: raw.WEBHOOKS_ALLOW_HTTP ?? !production,
      worker: raw.WEBHOOKS_WORKER === 'on',
      concurrency: raw.WEBHOOKS_CONCURRENCY,
      pollMs: raw.WEBHOOKS_POLL_MS,
      timeoutMs: raw.WEBHOOKS_TIMEOUT_MS,
      keepDeliveredDays: raw.WEBHOOKS_KEEP_DELIVERED_DAYS,
      keepFailedDays: raw.WEBHOOKS_KEEP_FAILED_DAYS,
      purgeSeconds: raw.WEBHOOKS_PURGE_SECONDS,
    },
    waitingRoomTickMs: raw.WAITING_ROOM_TICK_MS,
  };
}

function resolveCurrency(given: string): string {
  const code = currencyCode(given);
  if (code === undefined) throw new ConfigError(`CURRENCY must be an ISO 4217 currency code such as EUR (got "${given}")`);
  return code;
}

// Development (and tests) get limits a developer clicking around never meets; production gets the strict ones.
const LIMIT_DEFAULTS = {
  production: { loginPerMinute: 30, loginFailures: 10, registerPerHour: 20, bookingsPerMinute: 600, liveStreamsPerIp: 10 },
  development: { loginPerMinute: 600, loginFailures: 100, registerPerHour: 1000, bookingsPerMinute: 60000, liveStreamsPerIp: 100 },
} as const;

function parseTrustProxy(value: string): boolean | string[] {
  const text = value.trim();
  if (text === '' || text === 'false') return false;
  if (text === 'true') return true;
  // Fastify 5 trusts nobody for a hop count (it cannot tell a proxy from a client that adds hops itself).
  if (/^[0-9]+$/.test(text)) throw new ConfigError('TRUST_PROXY: a hop count is not supported (Fastify cannot check who sent the hops); list the proxies\' addresses or CIDRs');
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 4 ? 32 : 128;
    const badBits = bits !== undefined && (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > maxBits);
    // Fastify also knows names such as "loopback"; they are passed on as they are.
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(entry);
    if (!named && (family === 0 || badBits || rest.length > 0)) {
      throw new ConfigError(`TRUST_PROXY: "${entry}" is not an address, a CIDR, true, false or a hop count`);
    }
  }
  return entries;
}

const MIN_METRICS_TOKEN_BYTES = 16;

function resolveMetricsToken(given: string | undefined): string | undefined {
  if (given === undefined || given === '') return undefined;
  if (Buffer.byteLength(given) < MIN_METRICS_TOKEN_BYTES) throw new ConfigError(`METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_BYTES} bytes`);
  return given;
}

/** The booking limit each process enforces: all of it when Redis shares the count, else its share. */
export function bookingLimitPerProcess(config: Config): number {
  const { bookingsPerMinute } = config.rateLimits;
  return config.redisUrl ? bookingsPerMinute : Math.max(1, Math.floor(bookingsPerMinute / config.workers));
}

/** One start-up line saying where each limit is counted, so an operator knows what the numbers mean. */
export function describeLimits(config: Config): string {
  const limits = config.rateLimits;
  if (!limits.enabled) return 'rate limits: off (RATE_LIMITS=off)';
  const perProcess = bookingLimitPerProcess(config);
  const booking = config.redisUrl
    ? `bookings ${limits.bookingsPerMinute}/min per buyer, shared through Redis (without Redis: not limited)`
    : `bookings ${limits.bookingsPerMinute}/min per buyer, counted per process: each of the ${config.workers} process(es) on this host allows ${perProcess}`;
  return (
    `rate limits: logins ${limits.loginPerMinute}/min per address, ${limits.loginFailures} failures per account in ` +
    `${limits.loginFailureWindowMinutes} min, registrations ${limits.registerPerHour}/h per address (counted in the database: ` +
    `exact across processes and hosts); ${booking}; live streams ${config.live.maxStreamsPerIp} per address, ${config.live.maxStreams} in all, per process`
  );
}

// The old service's .env says postgresql+asyncpg:// (SQLAlchemy's "dialect+driver"); node-postgres is the
// driver here, so the "+driver" part is dropped and the rest of the URL is used as it is.
function withoutSqlAlchemyDriver(url: string | undefined, warn: (line: string) => void): string | undefined {
  const match = url && /^(postgres(?:ql)?)\+([A-Za-z0-9_]+):\/\//.exec(url);
  if (!url || !match) return url;
  warn(`DATABASE_URL: "${match[1]}+${match[2]}://" is a SQLAlchemy driver form; connecting with "${match[1]}://" (the "+${match[2]}" part is ignored)`);
  return `${match[1]}://${url.slice(match[0].length)}`;
}

// One process per core in production; the embedded database belongs to one process, so it runs one.
function resolveWorkers(given: number | undefined, production: boolean, hasServer: boolean): number {
  if (!hasServer) {
    if (given !== undefined && given > 1) throw new ConfigError('WORKERS > 1 needs DATABASE_URL: the embedded database serves one process');
    return 1;
  }
  return given ?? (production ? availableParallelism() : 1);
}

// Outside production a missing key is generated once and kept in the data folder, so `npm start` needs no
// set-up and tokens survive a restart; production must bring its own key.
function resolveSecretKey(given: string | undefined, production: boolean, dataDir: string): string {
  if (given !== undefined && given !== '') {
    if (Buffer.byteLength(given) < MIN_SECRET_BYTES && production) {
      throw new ConfigError(`SECRET_KEY must be at least ${MIN_SECRET_BYTES} bytes in production; ${MAKE_A_KEY}`);
    }
    return given;
  }
  if (production) throw new ConfigError(`SECRET_KEY is required in production (at least ${MIN_SECRET_BYTES} bytes); ${MAKE_A_KEY}`);
  const file = join(dataDir, 'secret_key');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const key = randomBytes(48).toString('base64url');
    try {
      writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another process won the race to create it: use theirs.
      return readFileSync(file, 'utf8').trim();
    }
  }
}
