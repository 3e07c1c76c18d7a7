import { Type, type Static } from 'typebox';

// One schema for every setting: validated once at start-up, typed, and documented from these descriptions
// (`npm run docs:config` writes docs/operations/configuration.md and .env.example). A description may end
// with "Default: ..." (when the schema has none, or it is not the whole story) and "In production: ...".
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.String({
    default: 'development',
    description: '`production` requires `SECRET_KEY` and turns on the strict defaults marked below (bcrypt cost, abuse limits, `WORKERS`, `http://` webhooks).',
  }),
  // postgres:// or postgresql://; the old service's SQLAlchemy forms (postgresql+asyncpg://, ...) are accepted too.
  DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?(\\+[A-Za-z0-9_]+)?://',
    description: '`postgres://...` of a PostgreSQL server, or of PgBouncer in front of it (see `DATABASE_POOLER`). The old service\'s SQLAlchemy forms (`postgresql+asyncpg://`, `postgresql+psycopg://`, ...) work too: the `+driver` part is dropped, with one warning line. Default: unset = the embedded PostgreSQL (PGlite) in `DATA_DIR`.',
    examples: ['postgresql://bookfast:bookfast@localhost:5432/bookfast'],
  })),
  // Issue 15: DATABASE_URL may point at PgBouncer in transaction mode; what needs a session goes direct.
  DATABASE_POOLER: Type.Union([Type.Literal('none'), Type.Literal('pgbouncer')], {
    default: 'none',
    description: '`pgbouncer`: `DATABASE_URL` is PgBouncer in transaction mode (unnamed statements; the role must carry `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`); see docs/operations/pgbouncer.md.',
  }),
  DATABASE_DIRECT_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://',
    description: 'The primary without the pooler, for what needs a session: migrations and their lock, `LISTEN` for live seats. Default: unset.',
    examples: ['postgresql://bookfast:bookfast@localhost:5432/bookfast'],
  })),
  DATABASE_READ_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://',
    description: 'A streaming replica for read-only lists (events list and page, stats, attendee exports, my tickets and orders); they fall back to the primary when it is down or lags. Default: unset.',
    examples: ['postgresql://bookfast:bookfast@localhost:5433/bookfast'],
  })),
  DATABASE_READ_MAX_LAG_MS: Type.Integer({
    default: 2000, minimum: 0, maximum: 600000,
    description: 'Replay lag, in ms, above which those lists are read from the primary instead (logged).',
  }),
  DATA_DIR: Type.String({
    default: './data', minLength: 1,
    description: 'Folder of the embedded database and of the generated development `SECRET_KEY`.',
  }),
  PORT: Type.Integer({
    default: 8000, minimum: 0, maximum: 65535,
    description: 'Port to listen on (`0`: any free port).',
  }),
  HOST: Type.String({
    default: '0.0.0.0', minLength: 1,
    description: 'Address to listen on; `127.0.0.1` keeps it local.',
  }),
  SECRET_KEY: Type.Optional(Type.String({
    description: 'JWT signing key, 32+ bytes. Required when `NODE_ENV=production` (the old service\'s short sample key is refused); make one with `node -e "console.log(require(\'node:crypto\').randomBytes(48).toString(\'base64url\'))"` or `openssl rand -base64 48`. Outside production it is generated once and kept in `DATA_DIR/secret_key`, so tokens survive a restart. Default: generated. In production: required.',
    examples: [''],
  })),
  ALGORITHM: Type.Union([Type.Literal('HS256'), Type.Literal('HS384'), Type.Literal('HS512')], {
    default: 'HS256',
    description: 'JWT HMAC algorithm; tokens signed otherwise are refused.',
  }),
  ACCESS_TOKEN_EXPIRE_MINUTES: Type.Integer({
    default: 30, minimum: 1, maximum: 525600,
    description: 'Access-token lifetime in minutes.',
  }),
  DB_POOL_SIZE: Type.Integer({
    default: 8, minimum: 1, maximum: 200,
    description: 'PostgreSQL connections per process; ignored by the embedded database.',
  }),
  BCRYPT_COST: Type.Optional(Type.Integer({
    minimum: 10, maximum: 15,
    description: 'bcrypt work factor for passwords; hashes are redone at login when it rises. Default: 10. In production: 12.',
    examples: ['12'],
  })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level (JSON lines).' },
  ),
  LOG_FORMAT: Type.Optional(Type.Union([Type.Literal('pretty'), Type.Literal('json')], {
    description: '`pretty`: one readable line per request (`[12:00:01.234] INFO: POST /login 401 3.2 ms`), successful GETs (the box office\'s polling) at `debug`; `json`: pino\'s JSON, two lines per request, for log collectors. Default: `pretty`. In production: `json`.',
    examples: ['json'],
  })),
  BATCH_MAX_SIZE: Type.Integer({
    default: 256, minimum: 1, maximum: 10000,
    description: 'Most bookings of one event written in one statement.',
  }),
  BATCH_QUEUE_LIMIT: Type.Integer({
    default: 5000, minimum: 1, maximum: 1000000,
    description: 'Buyers waiting per event per process before `503` + `Retry-After`.',
  }),
  BATCHES_IN_FLIGHT: Type.Integer({
    default: 1, minimum: 1, maximum: 8,
    description: 'Booking batches of one event in the database at once, per process.',
  }),
  // How long "sold out" is answered from memory, in every process, before the database is asked again.
  SOLD_OUT_MEMORY_MS: Type.Integer({
    default: 250, minimum: 0, maximum: 60000,
    description: 'How long every process answers "sold out" from memory once any process found the event sold out (`0`: always ask the database).',
  }),
  WORKERS: Type.Optional(Type.Integer({
    minimum: 1, maximum: 64,
    description: 'Server processes sharing the port (node:cluster); more than 1 needs `DATABASE_URL`. Default: 1. In production: the core count.',
    examples: ['2'],
  })),
  // Orders (issue 4): how often expired holds give their seats back and old idempotency keys are purged.
  HOLD_SWEEP_SECONDS: Type.Integer({
    default: 5, minimum: 1, maximum: 3600,
    description: 'How often expired holds give their seats back and day-old idempotency keys are purged.',
  }),
  // Organizers (issue 5): true lets any user create events, as the old service did; false, organizers and admins only.
  OPEN_EVENT_CREATION: Type.Boolean({
    default: true,
    description: '`true`: any signed-in user may create events (the old service\'s rule); `false`: organizers and admins only.',
  }),
  // Removed (issue 12): read only to refuse it, since a listed address made whoever registered it first an admin.
  ADMIN_EMAILS: Type.Optional(Type.String({
    description: 'Removed: start-up refuses it, since it made whoever registered a listed address first an admin. Make an admin with `npm run user:promote -- <email> admin`. Default: refused.',
  })),
  // Web box office (issue 16): the currency of events created without one.
  CURRENCY: Type.String({
    default: 'EUR',
    description: 'ISO 4217 currency (any letter case) of events created without one.',
  }),
  REDIS_URL: Type.Optional(Type.String({
    pattern: '^rediss?://',
    description: 'Redis for the booking rate limit and the live-seat messages shared by every process. Default: unset = counted per process, messages through PostgreSQL.',
    examples: ['redis://127.0.0.1:6379'],
  })),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description: '`off` turns every abuse limit off (the benchmark does).',
  }),
  // Limits without a default here take one from LIMIT_DEFAULTS: strict in production, loose in development.
  RATE_LIMIT_LOGIN_PER_MINUTE: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000000,
    description: '`POST /login` per client address per minute, counted in the database. Default: 600. In production: 30.',
    examples: ['30'],
  })),
  RATE_LIMIT_LOGIN_FAILURES: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000000,
    description: 'Failed logins per account, and failed `POST /password` per account, in `RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES`. Default: 100. In production: 10.',
    examples: ['10'],
  })),
  RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES: Type.Integer({
    default: 15, minimum: 1, maximum: 1440,
    description: 'The window, in minutes, of `RATE_LIMIT_LOGIN_FAILURES`.',
  }),
  RATE_LIMIT_REGISTER_PER_HOUR: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000000,
    description: '`POST /register` per client address per hour, counted in the database. Default: 1000. In production: 20.',
    examples: ['20'],
  })),
  RATE_LIMIT_BOOKINGS_PER_MINUTE: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000000,
    description: 'Requests to `POST /book` and `POST /orders` (holds included), one count per buyer per minute shared by both routes, for the deployment: without `REDIS_URL` each process enforces `limit / WORKERS`. Default: 60000. In production: 600.',
    examples: ['600'],
  })),
  LIVE_MAX_STREAMS_PER_IP: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000000,
    description: 'Open `GET /events/{id}/live` streams per client address per process (`429` past it), and as many queue streams (`GET /events/{id}/queue/stream`), counted apart. Default: 100. In production: 10.',
    examples: ['10'],
  })),
  LIVE_MAX_STREAMS: Type.Integer({
    default: 1000, minimum: 1, maximum: 1000000,
    description: 'Open live streams per process (`503` past it), and as many queue streams, counted apart.',
  }),
  // Fastify's trustProxy forms: unset/false, true, or comma-separated addresses and CIDRs (no hop count).
  TRUST_PROXY: Type.String({
    default: '',
    description: 'The proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDRs (`10.0.0.0/8,fd00::/8`), `loopback`, or `true` (believes every hop, so a client picks its own address by sending the header itself: name the proxies instead). Limits then key on the forwarded client address. A hop count is refused (Fastify 5 cannot check who sent the hops). Default: empty = off (the socket\'s peer).',
    examples: ['10.0.0.0/8'],
  }),
  METRICS_TOKEN: Type.Optional(Type.String({
    description: 'When set (16+ bytes), `GET /metrics` wants `Authorization: Bearer <token>`. Default: unset = open.',
    examples: [''],
  })),
  METRICS_EVENT_LABELS: Type.Integer({
    default: 100, minimum: 0, maximum: 100000,
    description: 'Events with their own `event_id` label on `/metrics`; the rest are summed under `other`.',
  }),
  CORS_ORIGINS: Type.String({
    default: '',
    description: 'Comma-separated origins allowed to call the API from a browser. Default: empty = CORS off.',
  }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({
    default: 3000, minimum: 100, maximum: 60000,
    description: 'Longest wait, in ms, for a database connection before `503`.',
  }),
  TOKEN_VERSION_CACHE_MS: Type.Integer({
    default: 2000, minimum: 0, maximum: 60000,
    description: 'A logout or password change on one process or host is refused by the others within this many ms (each polls the revocations every half of it; `0`: every request reads the user\'s row).',
  }),
  // Webhooks (issue 17).
  WEBHOOKS_ALLOW_PRIVATE: Type.Boolean({
    default: false,
    description: 'Also deliver webhooks to loopback, link-local and private addresses (tests, a receiver on your own network).',
  }),
  WEBHOOKS_ALLOW_HTTP: Type.Optional(Type.Boolean({
    description: 'Accept `http://` webhook endpoints besides `https://`. Default: true. In production: false.',
    examples: ['false'],
  })),
  WEBHOOKS_WORKER: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description: 'Run the webhook delivery worker in this process.',
  }),
  WEBHOOKS_CONCURRENCY: Type.Integer({
    default: 4, minimum: 1, maximum: 64,
    description: 'Webhook delivery loops per process, each leasing one endpoint (of an owner no other loop of the process serves) and sending up to 16 of its webhooks at once.',
  }),
  WEBHOOKS_POLL_MS: Type.Integer({
    default: 500, minimum: 10, maximum: 60000,
    description: 'How often, in ms, an idle delivery worker looks for due webhooks.',
  }),
  WEBHOOKS_TIMEOUT_MS: Type.Integer({
    default: 10000, minimum: 100, maximum: 60000,
    description: 'Longest delivery attempt, in ms: DNS, connect, answer.',
  }),
  WEBHOOKS_KEEP_DELIVERED_DAYS: Type.Integer({
    default: 7, minimum: 1, maximum: 3650,
    description: 'Delivered webhooks are kept this many days after delivery, then purged.',
  }),
  WEBHOOKS_KEEP_FAILED_DAYS: Type.Integer({
    default: 30, minimum: 1, maximum: 3650,
    description: 'Failed webhooks are kept this many days after their last attempt, then purged.',
  }),
  WEBHOOKS_PURGE_SECONDS: Type.Integer({
    default: 60, minimum: 1, maximum: 86400,
    description: 'How often the webhook purge runs.',
  }),
  // Waiting room (issue 14): how often each process runs the admission tick (only the leader admits) and
  // refreshes its in-memory list of rooms; also the staleness bound of that list. Well under a second, so
  // the per-second cap never binds on a rate the credit allows (a 1 s tick with any lag would lose rate).
  WAITING_ROOM_TICK_MS: Type.Integer({
    default: 250, minimum: 10, maximum: 10000,
    description: 'How often, in ms, each process runs the waiting room\'s admission tick (only the leader admits) and re-reads its rooms; also how stale a process\'s list of rooms may be.',
  }),
});

export type RawConfig = Static<typeof ConfigSchema>;
