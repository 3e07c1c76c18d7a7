import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { Forbidden, Unauthorized } from '../errors.js';

// Roles live in the database, never in the token: a promotion or demotion takes effect on the next request.
// They are read only where they decide something (event creation, another owner's event), never on /book.

export const ROLES = ['customer', 'organizer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export async function findRole(db: Db, userId: number): Promise<Role | null> {
  const rows = await queryRows<{ role: Role }>(db, sql`SELECT role FROM users WHERE id = ${userId}`);
  return rows[0]?.role ?? null;
}

/** Sets the role of the account with this email (any letter case); null when there is no such account. */
export async function setRoleByEmail(db: Db, email: string, role: Role): Promise<{ id: number; email: string; previous: Role } | null> {
  const rows = await queryRows<{ id: number; email: string; previous: Role }>(
    db,
    sql`UPDATE users u SET role = ${role}
        FROM (SELECT id, role FROM users WHERE lower(email) = lower(${email.trim()}) FOR UPDATE) old
        WHERE u.id = old.id
        RETURNING u.id, u.email, old.role AS previous`,
  );
  return rows[0] ?? null;
}

/** With OPEN_EVENT_CREATION=false only organizers and admins create events. */
export async function assertMayCreateEvents(db: Db, userId: number, openEventCreation: boolean): Promise<void> {
  if (openEventCreation) return;
  const role = await requireRole(db, userId);
  if (role === 'customer') throw new Forbidden('Only organizers can create events');
}

/** The event's owner passes without a query; anyone else must be an admin. */
export async function assertOwnerOrAdmin(db: Db, ownerId: number | null, userId: number, message: string): Promise<void> {
  if (ownerId !== null && ownerId === userId) return;
  if ((await requireRole(db, userId)) !== 'admin') throw new Forbidden(message);
}

async function requireRole(db: Db, userId: number): Promise<Role> {
  const role = await findRole(db, userId);
  // A valid token of an account that no longer exists.
  if (role === null) throw new Unauthorized();
  return role;
}
