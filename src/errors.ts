// The application's errors. Services throw them; src/http/error-handler.ts is the one place that turns
// them into HTTP answers of the form {"detail": message}.

export class AppError extends Error {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    // These are answers, not bugs: a stack trace would say nothing, and capturing one for every "Sold Out"
    // of a flash sale costs more than the rest of the refusal.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export class BadRequest extends AppError {
  constructor(message: string) {
    super(400, message);
  }
}

export class SoldOut extends BadRequest {
  constructor() {
    super('Sold Out');
  }
}

export class Unauthorized extends AppError {
  constructor(message = 'Could not validate credentials') {
    super(401, message, { 'WWW-Authenticate': 'Bearer' });
  }
}

export class Forbidden extends AppError {
  constructor(message: string) {
    super(403, message);
  }
}

export class NotFound extends AppError {
  constructor(message: string) {
    super(404, message);
  }
}

export class Conflict extends AppError {
  constructor(message: string) {
    super(409, message);
  }
}

/** A buyer would pass the event's max_per_user. The batches count seats only as deep as the limit: "or more" past it. */
export class OverUserLimit extends Conflict {
  constructor(limit: number, owned: number) {
    super(`This event allows ${limit} tickets per buyer and you already have ${owned < limit ? owned : `${limit} or more`}`);
  }
}

export class ServiceUnavailable extends AppError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(503, message, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class TooManyRequests extends AppError {
  constructor(retryAfterSeconds: number, what: 'attempts' | 'requests' = 'attempts') {
    super(429, `Too many ${what}, retry in ${retryAfterSeconds} s`, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/** One entry of a 422 answer, in the shape the old FastAPI service sent. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A 422 for input that passed the JSON schema but breaks a rule the schema cannot state. */
export class InvalidInput extends AppError {
  constructor(readonly issues: ValidationIssue[]) {
    super(422, issues.map((issue) => `${issue.loc.join('.')}: ${issue.msg}`).join('; '));
  }
}

export function invalidField(loc: (string | number)[], msg: string, type = 'value_error'): InvalidInput {
  return new InvalidInput([{ loc, msg, type }]);
}
