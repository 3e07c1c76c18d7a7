import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import type { SnakeRow } from '../db/rows.js';
import type { users } from '../db/schema.js';
import type { Role } from './roles.js';

export type UserRow = Pick<SnakeRow<typeof users.$inferSelect>, 'id' | 'email' | 'password' | 'token_version'>;

/** Inserts a user; null when the email (in any letter case) is taken, even by a concurrent insert. */
export async function insertUser(
  db: Db,
  email: string,
  passwordHash: string,
  role: Role = 'customer',
): Promise<{ id: number; email: string } | null> {
  const rows = await queryRows<{ id: number; email: string }>(
    db,
    sql`INSERT INTO users (email, password, role) VALUES (${email}, ${passwordHash}, ${role})
        ON CONFLICT (lower(email)) DO NOTHING
        RETURNING id, email`,
  );
  return rows[0] ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
  const rows = await queryRows<UserRow>(
    db,
    sql`SELECT id, email, password, token_version FROM users WHERE lower(email) = lower(${email})`,
  );
  return rows[0] ?? null;
}

export async function findUserById(db: Db, id: number): Promise<UserRow | null> {
  const rows = await queryRows<UserRow>(db, sql`SELECT id, email, password, token_version FROM users WHERE id = ${id}`);
  return rows[0] ?? null;
}

/** Stores a new hash; with `revoke`, also bumps the token version so earlier tokens stop working. */
export async function updatePasswordHash(db: Db, id: number, hash: string, revoke: boolean): Promise<number> {
  const rows = await queryRows<{ token_version: number }>(
    db,
    revoke
      ? sql`UPDATE users SET password = ${hash}, token_version = token_version + 1, token_revoked_at = now() WHERE id = ${id} RETURNING token_version`
      : sql`UPDATE users SET password = ${hash} WHERE id = ${id} RETURNING token_version`,
  );
  return rows[0]!.token_version;
}

export async function findAccount(db: Db, id: number): Promise<{ id: number; email: string; role: Role } | null> {
  const rows = await queryRows<{ id: number; email: string; role: Role }>(db, sql`SELECT id, email, role FROM users WHERE id = ${id}`);
  return rows[0] ?? null;
}
