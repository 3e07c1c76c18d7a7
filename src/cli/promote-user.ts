import { isRole, ROLES, setRoleByEmail } from '../auth/roles.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';

// `npm run user:promote -- ada@example.com admin` (in the Docker image, compiled:
// `docker compose exec api node dist/src/cli/promote-user.js ada@example.com admin`): sets an existing
// account's role; the only way to make an admin. Roles are read from the database on every request that
// needs them, so the change applies at once, without a new login.

async function main(argv: string[]): Promise<string> {
  const [email, role, ...extra] = argv;
  if (!email || !role || extra.length > 0) throw new UsageError(`usage: npm run user:promote -- <email> <${ROLES.join('|')}>`);
  if (!isRole(role)) throw new UsageError(`unknown role "${role}": use one of ${ROLES.join(', ')}`);
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const user = await setRoleByEmail(database.db, email, role);
    if (!user) throw new UsageError(`no account with email ${email}; register it first (POST /register)`);
    return user.previous === role ? `${user.email} is already ${role}` : `${user.email} is now ${role} (was ${user.previous})`;
  } finally {
    await database.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (message) => console.log(message),
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof ConfigError;
    console.error(`user:promote: ${known ? (error as Error).message : `failed: ${(error as Error).message}`}`);
    process.exit(1);
  },
);
