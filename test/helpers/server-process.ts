import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

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
  /** What the process wrote to stderr (warnings and errors: it logs at warn level). */
  stderr(): string;
  /** What the process wrote to stdout (start-up lines). */
  stdout(): string;
}

/** Runs src/server.ts as a real separate process (through tsx) and waits for /health; `env.HOST` picks the address. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const host = env.HOST ?? '127.0.0.1';
  const port = await freePort(host);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: host, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
