import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { envSchema } from 'env-schema';
import { Type, type Static } from 'typebox';

// One schema for every setting: validated once at start-up, typed, documented in README and .env.example.
const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
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
  WORKERS: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  // Orders (issue 4): how often expired holds give their seats back and old idempotency keys are purged.
  HOLD_SWEEP_SECONDS: Type.Integer({ default: 5, minimum: 1, maximum: 3600 }),
  // Organizers (issue 5): true lets any user create events, as the old service did; false, organizers and admins only.
  OPEN_EVENT_CREATION: Type.Boolean({ default: true }),
  ADMIN_EMAILS: Type.String({ default: '' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  RATE_LIMIT_LOGIN_PER_MINUTE: Type.Integer({ default: 30, minimum: 1 }),
  RATE_LIMIT_LOGIN_FAILURES: Type.Integer({ default: 10, minimum: 1 }),
  RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES: Type.Integer({ default: 15, minimum: 1 }),
  RATE_LIMIT_REGISTER_PER_HOUR: Type.Integer({ default: 20, minimum: 1 }),
  RATE_LIMIT_BOOKINGS_PER_MINUTE: Type.Integer({ default: 600, minimum: 1 }),
  CORS_ORIGINS: Type.String({ default: '' }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({ default: 3000, minimum: 100, maximum: 60000 }),
  TOKEN_VERSION_CACHE_MS: Type.Integer({ default: 2000, minimum: 0, maximum: 60000 }),
  // Waiting room (issue 14): how often each process runs the admission tick (only the leader admits) and
  // refreshes its in-memory list of rooms; also the staleness bound of that list. Well under a second, so
  // the per-second cap never binds on a rate the credit allows (a 1 s tick with any lag would lose rate).
  WAITING_ROOM_TICK_MS: Type.Integer({ default: 250, minimum: 10, maximum: 10000 }),
});

type RawConfig = Static<typeof ConfigSchema>;

export interface Config {
  production: boolean;
  databaseUrl: string | undefined;
  dataDir: string;
  port: number;
  host: string;
  secretKey: string;
  algorithm: 'HS256' | 'HS384' | 'HS512';
  accessTokenExpireMinutes: number;
  dbPoolSize: number;
  bcryptCost: number;
  logLevel: string;
  batchMaxSize: number;
  batchQueueLimit: number;
  batchesInFlight: number;
  workers: number;
  holdSweepSeconds: number;
  openEventCreation: boolean;
  /** Lower-cased; these accounts are admins from registration. */
  adminEmails: string[];
  redisUrl: string | undefined;
  rateLimits: {
    enabled: boolean;
    loginPerMinute: number;
    loginFailures: number;
    loginFailureWindowMinutes: number;
    registerPerHour: number;
    bookingsPerMinute: number;
  };
  corsOrigins: string[];
  dbConnectTimeoutMs: number;
  tokenVersionCacheMs: number;
  waitingRoomTickMs: number;
}

export class ConfigError extends Error {}

const MIN_SECRET_BYTES = 32;

/** Reads the environment (and `.env`) once; throws ConfigError with a message meant for the operator. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { dotenv?: boolean } = {}): Config {
  let raw: RawConfig;
  try {
    raw = envSchema<RawConfig>({ schema: ConfigSchema, data: env, env: false, dotenv: (options.dotenv ?? true) ? { quiet: true } : false });
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  const production = raw.NODE_ENV === 'production';
  const dataDir = resolve(raw.DATA_DIR);
  return {
    production,
    databaseUrl: raw.DATABASE_URL || undefined,
    dataDir,
    port: raw.PORT,
    host: raw.HOST,
    secretKey: resolveSecretKey(raw.SECRET_KEY, production, dataDir),
    algorithm: raw.ALGORITHM,
    accessTokenExpireMinutes: raw.ACCESS_TOKEN_EXPIRE_MINUTES,
    dbPoolSize: raw.DB_POOL_SIZE,
    bcryptCost: raw.BCRYPT_COST ?? (production ? 12 : 10),
    logLevel: raw.LOG_LEVEL,
    batchMaxSize: raw.BATCH_MAX_SIZE,
    batchQueueLimit: raw.BATCH_QUEUE_LIMIT,
    batchesInFlight: raw.BATCHES_IN_FLIGHT,
    workers: resolveWorkers(raw.WORKERS, production, Boolean(raw.DATABASE_URL)),
    holdSweepSeconds: raw.HOLD_SWEEP_SECONDS,
    openEventCreation: raw.OPEN_EVENT_CREATION,
    adminEmails: raw.ADMIN_EMAILS.split(',').map((email) => email.trim().toLowerCase()).filter(Boolean),
    redisUrl: raw.REDIS_URL || undefined,
    rateLimits: {
      enabled: raw.RATE_LIMITS === 'on',
      loginPerMinute: raw.RATE_LIMIT_LOGIN_PER_MINUTE,
      loginFailures: raw.RATE_LIMIT_LOGIN_FAILURES,
      loginFailureWindowMinutes: raw.RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES,
      registerPerHour: raw.RATE_LIMIT_REGISTER_PER_HOUR,
      bookingsPerMinute: raw.RATE_LIMIT_BOOKINGS_PER_MINUTE,
    },
    corsOrigins: raw.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
    dbConnectTimeoutMs: raw.DB_CONNECT_TIMEOUT_MS,
    tokenVersionCacheMs: raw.TOKEN_VERSION_CACHE_MS,
    waitingRoomTickMs: raw.WAITING_ROOM_TICK_MS,
  };
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
      throw new ConfigError(`SECRET_KEY must be at least ${MIN_SECRET_BYTES} bytes in production`);
    }
    return given;
  }
  if (production) throw new ConfigError('SECRET_KEY is required in production (at least 32 bytes)');
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
