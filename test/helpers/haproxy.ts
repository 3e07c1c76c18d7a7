import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.js';

const HAPROXY = '/usr/sbin/haproxy';

export function haproxyMissing(): string | undefined {
  try {
    accessSync(HAPROXY, constants.X_OK);
    return undefined;
  } catch {
    return `${HAPROXY} is not installed (apt-get install haproxy)`;
  }
}

export interface Haproxy {
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Debian's HAProxy in front of `backends` (base URLs): round robin, health checks on /health/ready every
 * second (three failures take a host out), X-Forwarded-For added; a connection a dead host refuses is retried on another (redispatch), which
 * is safe for any method because the request never reached a host.
 */
export async function startHaproxy(backends: string[]): Promise<Haproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bookfast-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 60s',
      '  timeout server 60s',
      // A host answering its health check slowly under a burst on two shared cores is busy, not down.
      '  timeout check 5s',
      '  retries 3',
      '  option redispatch',
      'frontend bookfast',
      `  bind 127.0.0.1:${port}`,
      '  option forwardfor',
      '  default_backend api',
      'backend api',
      '  balance roundrobin',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      '  default-server inter 1s fall 3 rise 2',
      ...backends.map((url, i) => `  server host${i + 1} ${new URL(url).host} check`),
      '',
    ].join('\n'),
  );
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not start: ${log}`);
    }
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    baseUrl,
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
