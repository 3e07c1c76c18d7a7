import bcrypt from 'bcrypt';

// bcrypt runs on libuv's thread pool, so hashing never blocks the event loop that serves bookings.
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

export function needsRehash(hash: string, cost: number): boolean {
  return bcrypt.getRounds(hash) < cost;
}

let dummyHash: Promise<string> | undefined;

/** Compares against a throwaway hash so that a login for an unknown email takes as long as a wrong password. */
export async function burnPasswordCheck(password: string, cost: number): Promise<void> {
  dummyHash ??= bcrypt.hash('bookfast-dummy-password', cost);
  await bcrypt.compare(password, await dummyHash);
}
