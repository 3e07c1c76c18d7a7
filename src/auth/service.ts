import type { Db } from '../db/client.js';
import { BadRequest, invalidField, Unauthorized } from '../errors.js';
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import type { AccountOut } from './schemas.js';
import { findAccount, findUserByEmail, findUserById, insertUser, updatePasswordHash } from './users.repository.js';

const MAX_PASSWORD_BYTES = 72; // bcrypt ignores every byte past the 72nd

export async function registerUser(db: Db, email: string, password: string, bcryptCost: number) {
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw invalidField(['body', 'password'], `String should have at most ${MAX_PASSWORD_BYTES} bytes`, 'string_too_long');
  }
  const user = await insertUser(db, email.trim(), await hashPassword(password, bcryptCost));
  if (!user) throw new BadRequest('Email already registered');
  return user;
}

/** The same answer, after the same bcrypt work, whether the email or the password was wrong. */
export async function authenticateUser(db: Db, email: string, password: string, bcryptCost: number) {
  const user = await findUserByEmail(db, email.trim());
  if (!user) {
    await burnPasswordCheck(password, bcryptCost);
    throw new Unauthorized('Incorrect email or password');
  }
  if (!(await verifyPassword(password, user.password))) throw new Unauthorized('Incorrect email or password');
  // The cost was raised since this hash was made: upgrade it now, while we have the password.
  if (needsRehash(user.password, bcryptCost)) await updatePasswordHash(db, user.id, await hashPassword(password, bcryptCost), false);
  return { id: user.id, email: user.email, tokenVersion: user.token_version };
}

/** Checks the current password, stores the new one and revokes every token issued before. */
export async function changePassword(db: Db, userId: number, current: string, next: string, bcryptCost: number) {
  if (Buffer.byteLength(next) > MAX_PASSWORD_BYTES) {
    throw invalidField(['body', 'new_password'], `String should have at most ${MAX_PASSWORD_BYTES} bytes`, 'string_too_long');
  }
  const user = await findUserById(db, userId);
  if (!user || !(await verifyPassword(current, user.password))) throw new BadRequest('Current password is incorrect');
  const tokenVersion = await updatePasswordHash(db, userId, await hashPassword(next, bcryptCost), true);
  return { id: user.id, email: user.email, tokenVersion };
}

/** Who the caller is, and what the pages may offer them; roles are read now, never from the token. */
export async function myAccount(db: Db, userId: number, openEventCreation: boolean): Promise<AccountOut> {
  const account = await findAccount(db, userId);
  // A valid token for a deleted account.
  if (!account) throw new Unauthorized('User no longer exists');
  return { ...account, may_create_events: openEventCreation || account.role !== 'customer' };
}
