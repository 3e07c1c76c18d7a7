// The one way tests and the bench start BookFast as a real process. Plain Node (no vitest), so that the
// bench can import it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on `host` (127.0.0.1 unless told), found by letting the kernel pick one. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<number | null>;
  /** What the process wrote to stderr (warnings and errors: it logs at warn level); empty with `output: 'inherit'`. */
  stderr(): string;
  /** What the process wrote to stdout (start-up lines); empty with `output: 'inherit'`. */
  stdout(): string;
}

export interface ServerProcessOptions {
  /** Run the built server (dist/), as `npm start` and the Dockerfile do, instead of the sources through tsx. */
  built?: boolean;
  /** Inherited variables the process must not see (DATABASE_URL, for an embedded database). */
  unset?: string[];
  /** 'capture' keeps the output for the test to read; 'inherit' shows stderr as it comes and drops stdout
   *  (the bench: a long run's output is not worth holding in memory). */
  output?: 'capture' | 'inherit';
}

/**
 * Runs the server as a real separate process and waits for /health. `env.HOST` picks the address and
 * `env.PORT` the port (a free one when unset); LOG_LEVEL is warn unless `env` says otherwise.
 */
export async function startServerProcess(env: Record<string, string>, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const host = env.HOST ?? '127.0.0.1';
  const port = env.PORT ?? String(await freePort(host));
  const inherited = { ...process.env };
  for (const name of options.unset ?? []) delete inherited[name];
  // Built: the same command as `npm start` (without its rebuild) and the Dockerfile's CMD.
  const args = options.built ? ['--max-semi-space-size=64', 'dist/src/server.js'] : ['--import', 'tsx', 'src/server.ts'];
  const capture = (options.output ?? 'capture') === 'capture';
  const child = spawn(process.execPath, args, {
    // JSON logs, which tests read line by line (outside production the default is the pretty format).
    env: { ...inherited, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env, HOST: host, PORT: port },
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'ignore', 'inherit'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const baseUrl = `http://${host}:${port}`;
  // Generous: tsx compiles the sources at start, and CI runs two test files at once on two cores.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not healthy in time: ${stderr}`);
    }
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return {
    child,
    baseUrl,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      // Already gone (exited, or killed by a signal: then exitCode stays null and 'exit' will not come again).
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      return (await exited)[0];
    },
  };
}

/**
 * What a test's server process needs on a throwaway database: a fresh secret, a fresh data folder and rate
 * limits off (tests sign up many users from one address), then `overrides`. Processes that must accept each
 * other's tokens share one of these.
 */
export function serverProcessEnv(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SECRET_KEY: randomBytes(32).toString('hex'),
    RATE_LIMITS: 'off',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'bookfast-server-')),
    ...overrides,
  };
}

/**
 * One request on a connection of its own: with WORKERS > 1 the primary hands each new connection to the
 * next worker, so successive calls reach different workers.
 */
export function requestOnNewConnection(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const outgoing = request(`${baseUrl}${path}`, { method, headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
