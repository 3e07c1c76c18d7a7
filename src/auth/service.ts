import type { Db } from '../db/client.js';
import { BadRequest, invalidField, Unauthorized } from '../http/errors.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';
import { findUserByEmail, insertUser } from './users.repository.js';

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
  return { id: user.id, email: user.email };
}
