import { Type } from 'typebox';
import { CANONICAL_ID } from '../http/ids.js';

// The error bodies every route documents: {"detail": "..."}, or FastAPI's list for validation failures.
export const ErrorOut = Type.Object({ detail: Type.String() }, { examples: [{ detail: 'Not Found' }] });

/** ErrorOut with a route's own example, so /docs shows the actual reason. */
export const errorOut = (example: string) => Type.Object({ detail: Type.String() }, { examples: [{ detail: example }] });

export const ValidationErrorOut = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { examples: [{ detail: [{ loc: ['body', 'event_id'], msg: 'must be integer', type: 'type_error' }] }] },
);

/** A 32-bit id: larger numbers are a 422, never a database overflow; written only as digits (see ids.ts). */
export const Id = Type.Integer({ minimum: 1, maximum: 2147483647, examples: [1], [CANONICAL_ID]: true });

export const IdParams = Type.Object({ id: Id });

export const bearer = [{ OAuth2PasswordBearer: [] }];

/** skip/limit of the caller's own lists (tickets, orders), as GET /events pages. */
export const PageQuery = Type.Object({
  skip: Type.Integer({ minimum: 0, maximum: 2147483647, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
});
