import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

export interface UserRow {
  id: number;
  email: string;
  password: string;
}

/** Inserts a user; null when the email (in any letter case) is taken, even by a concurrent insert. */
export async function insertUser(db: Db, email: string, passwordHash: string): Promise<{ id: number; email: string } | null> {
  const rows = await queryRows<{ id: number; email: string }>(
    db,
    sql`INSERT INTO users (email, password) VALUES (${email}, ${passwordHash})
        ON CONFLICT (lower(email)) DO NOTHING
        RETURNING id, email`,
  );
  return rows[0] ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
  const rows = await queryRows<UserRow>(
    db,
    sql`SELECT id, email, password FROM users WHERE lower(email) = lower(${email})`,
  );
  return rows[0] ?? null;
}
