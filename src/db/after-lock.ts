import pg from 'pg';

/** A statement that takes row locks before another runs: sent with it, see `AfterLock`. */
export interface LockStatement {
  text: string;
  /** Sent as text: numbers and strings only. */
  values: (string | number)[];
}

// The parts of node-postgres' connection that a query submits its protocol messages through (not in @types/pg).
interface WireConnection {
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { portal: string; statement: string; values: string[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string }): void;
  submittedNamedStatements: Record<string, string>;
}

interface QueryInternals {
  name?: string;
  text: string;
  types?: unknown[];
  hasBeenParsed(connection: WireConnection): boolean;
  prepare(connection: WireConnection): void;
}

/**
 * `lock`, then the statement, in ONE round trip: both in one Sync, so one implicit transaction that commits
 * at the Sync (the extended protocol's rule). Under READ COMMITTED the statement's snapshot is taken when it
 * starts, after `lock` holds its rows: what a BEGIN; lock; statement; COMMIT gives, without holding the lock
 * across three round trips to this process (and its event loop) in between. The result: the statement's rows.
 */
export async function queryAfterLock<T>(pool: pg.Pool, lock: LockStatement, statement: { name?: string; text: string; values: unknown[] }): Promise<T[]> {
  const results = (await pool.query(new AfterLock(lock, statement) as unknown as pg.QueryConfig)) as unknown as pg.QueryResult | pg.QueryResult[];
  // Each statement answers with its own result; a lock that found no row still answers (with no rows).
  return (Array.isArray(results) ? results[results.length - 1]! : results).rows as T[];
}

// node-postgres sends a query's messages in prepare(); this one puts the lock's before them. A named
// statement is parsed first (the lock's unnamed Parse would otherwise be the one its bookkeeping records).
class AfterLock extends pg.Query {
  constructor(
    private readonly lock: LockStatement,
    statement: { name?: string; text: string; values: unknown[] },
  ) {
    super(statement);
  }

  prepare(connection: WireConnection): void {
    const self = this as unknown as QueryInternals;
    if (self.name && !self.hasBeenParsed(connection)) {
      connection.parse({ text: self.text, name: self.name, types: self.types ?? [] });
      connection.submittedNamedStatements[self.name] = self.text;
    }
    connection.parse({ text: this.lock.text, name: '', types: [] });
    connection.bind({ portal: '', statement: '', values: this.lock.values.map(String) });
    connection.describe({ type: 'P', name: '' });
    connection.execute({ portal: '' });
    (pg.Query.prototype as unknown as QueryInternals).prepare.call(this, connection);
  }
}
