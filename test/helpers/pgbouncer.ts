import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.js';

const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  port: number;
  /** `serverUrl` with its host and port replaced by the pooler's (same user and database). */
  pooled(serverUrl: string): string;
  stop(): Promise<void>;
}

/** Why the PgBouncer tests cannot run here, or undefined when they can. */
export function pgBouncerMissing(): string | undefined {
  if (!process.env.DATABASE_URL) return 'DATABASE_URL is unset (PgBouncer needs a PostgreSQL server behind it)';
  try {
    accessSync(PGBOUNCER, constants.X_OK);
    return undefined;
  } catch {
    return `${PGBOUNCER} is not installed (apt-get install pgbouncer)`;
  }
}

/**
 * Debian's PgBouncer (1.18) in transaction mode in front of the server in `serverUrl`, with its own config in
 * a temp folder, on a free port; trust auth, as the local server has on 127.0.0.1. A small server pool, so
 * client connections share server connections as they do in production.
 */
export async function startPgBouncer(serverUrl: string, options: { poolSize?: number; listenAddr?: string } = {}): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bookfast-pgbouncer-'));
  // PgBouncer refuses to run as root; started as root it switches to the user given by -u, who must read these.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      `listen_addr = ${options.listenAddr ?? '127.0.0.1'}`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 2000',
      `default_pool_size = ${options.poolSize ?? 4}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!log.includes('process up')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const host = options.listenAddr ?? '127.0.0.1';
  return {
    port,
    pooled(url: string) {
      const pooled = new URL(url);
      pooled.hostname = host;
      pooled.port = String(port);
      return pooled.toString();
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        // SIGINT: PgBouncer's "safe shutdown" waits for clients; SIGTERM closes at once.
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
