// Messages between the server's thread (embedded.ts) and the embedded database's thread (embedded-worker.ts).

export interface QueryRequest {
  op: 'query';
  id: number;
  text: string;
  params: unknown[] | undefined;
  rowMode: 'array' | 'object' | undefined;
  /** Type ids whose values come back as PostgreSQL's text (drizzle's pass-through parsers). */
  rawTypes: number[] | undefined;
  /** The transaction this statement belongs to (the id of its `begin`); absent outside one. */
  tx: number | undefined;
}

/** A statement the server parses and plans once, then reuses by name (Database.prepared). */
export interface PreparedRequest {
  op: 'prepared';
  id: number;
  name: string;
  text: string;
  params: unknown[];
}

export type EmbeddedRequest =
  | QueryRequest
  | PreparedRequest
  | { op: 'begin'; id: number }
  | { op: 'end'; id: number; tx: number; commit: boolean }
  | { op: 'migrate'; id: number; folder: string }
  | { op: 'close'; id: number };

/** Id 0 is the worker saying the database is open. */
export type EmbeddedReply = { id: number; result: unknown; error?: undefined } | { id: number; error: { message: string; [field: string]: unknown } };
