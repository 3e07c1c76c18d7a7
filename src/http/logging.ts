import type { FastifyBaseLogger, FastifyRequest, FastifyServerOptions } from 'fastify';

/** Pino options as Fastify takes them, `stream` included (tests capture the lines there). */
export type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

const CENSOR = '[Redacted]';

// Secrets by name, wherever a log call might put them: headers, bodies, config. The serializers below log
// none of these; this list is the net under any future `log.info(obj)`.
const SECRET_KEYS = ['password', 'new_password', 'current_password', 'access_token', 'refresh_token', 'token', 'secret', 'secretKey', 'SECRET_KEY'];
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'authorization',
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

// EventSource cannot send headers, so a token may travel in a query string; never log it.
const SECRET_QUERY = /([?&](?:access_token|token|password|secret|api_key)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, `$1${CENSOR}`) : url;
}

/** JSON logs (pino) with secrets redacted; Fastify adds the request id (`reqId`) to every request's lines. */
export function loggerOptions(level: string, overrides: LoggerOptions = {}): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: {
      // Fastify's own request line; anything else logged as `req` goes through the redact paths as it is.
      req: (request: FastifyRequest) =>
        typeof request?.url === 'string'
          ? { method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.ip }
          : { ...(request as object) },
      err: (error: Error) => serializeError(error, 0),
    },
    ...overrides,
  };
}

// Drizzle's message for a failed query ends with its parameters ("params: ..."), which may hold a hash;
// its `params` property is not copied either.
const MESSAGE_PARAMS = /\nparams: [\s\S]*$/;
const STACK_PARAMS = /\nparams: [\s\S]*?(?=\n\s+at |$)/;
const ERROR_FIELDS = ['code', 'statusCode', 'detail', 'hint', 'constraint'] as const;

function serializeError(error: unknown, depth: number): { type: string; message: string; stack: string; [key: string]: unknown } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error), stack: '' };
  const fields = error as Error & Partial<Record<(typeof ERROR_FIELDS)[number] | 'cause', unknown>>;
  const out: { type: string; message: string; stack: string; [key: string]: unknown } = {
    type: error.name,
    message: error.message.replace(MESSAGE_PARAMS, `\nparams: ${CENSOR}`),
    stack: (error.stack ?? '').replace(STACK_PARAMS, `\nparams: ${CENSOR}`),
  };
  for (const field of ERROR_FIELDS) if (fields[field] !== undefined) out[field] = fields[field];
  // The driver's error behind Drizzle's holds the SQLSTATE; two levels are plenty.
  if (fields.cause !== undefined && depth < 2) out.cause = serializeError(fields.cause, depth + 1);
  return out;
}

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;
type PinoLike = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };
type LogArgs = Parameters<FastifyBaseLogger['info']>;

/**
 * Fastify makes a child logger per request to carry its reqId, and pino runs the redact paths over the
 * bindings of every child it makes: a few percent of the booking path's CPU when nothing is logged at all
 * (LOG_LEVEL=warn). A request gets this stand-in instead, which makes the real child on the first line
 * actually written, so a request that logs nothing costs one small object; every line written still has
 * its reqId. A class, so that stand-in is one allocation with its methods on the prototype.
 */
class RequestLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: PinoLike,
    private readonly bindings: Parameters<FastifyBaseLogger['child']>[0],
  ) {}

  private made(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings));
  }

  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: LogArgs): void {
    if (this.real !== undefined || this.parent.isLevelEnabled(level)) this.made()[level](...args);
  }

  get level(): string {
    return (this.real ?? this.parent).level;
  }
  set level(level: string) {
    this.made().level = level;
  }
  child(...args: Parameters<FastifyBaseLogger['child']>): FastifyBaseLogger {
    return this.made().child(...args);
  }
  fatal(...args: LogArgs): void {
    this.write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.write('error', args);
  }
  warn(...args: LogArgs): void {
    this.write('warn', args);
  }
  info(...args: LogArgs): void {
    this.write('info', args);
  }
  debug(...args: LogArgs): void {
    this.write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.write('trace', args);
  }
  silent(): void {}
}

export const lazyChildLoggerFactory: ChildLoggerFactory = function (logger, bindings, options) {
  const parent = logger as PinoLike;
  // A per-route level or serializers change what the child writes: make it as asked.
  if (Object.keys(options).length > 0 || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(parent, bindings) as unknown as FastifyBaseLogger;
};
