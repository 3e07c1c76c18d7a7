import { createSigner } from 'fast-jwt';
import type pg from 'pg';

/** Accounts inserted in one statement, with tokens signed like /login's: bcrypt for 50,000 would take an hour. */
export async function crowdTokens(db: pg.Client, secretKey: string, count: number, label = 'queued'): Promise<string[]> {
  const { rows } = await db.query<{ id: number; email: string }>(
    `INSERT INTO users (email, password) SELECT $2 || '-' || md5(random()::text) || '-' || i || '@bench.example', 'x'
     FROM generate_series(1, $1::int) AS i RETURNING id, email`,
    [count, label],
  );
  const sign = createSigner({ key: secretKey, algorithm: 'HS256', expiresIn: 3_600_000, iss: 'bookfast', aud: 'bookfast-api' });
  return rows.map((row) => sign({ sub: String(row.id), email: row.email, ver: 0 }));
}
