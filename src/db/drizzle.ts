import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

/** A Drizzle database (or a transaction) over BookFast's schema, on pg or PGlite alike. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
