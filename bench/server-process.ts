import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Starts the built server (dist/) as its own process(es) and waits until /health answers. */
export async function startServer(
  env: Record<string, string>,
  baseUrl: string,
  options: { unset?: string[] } = {},
): Promise<ChildProcess> {
  const inherited = { ...process.env };
  for (const name of options.unset ?? []) delete inherited[name];
  // The same command as `npm start` (without its rebuild) and the Dockerfile's CMD.
  const child = spawn(process.execPath, ['--max-semi-space-size=64', 'dist/src/server.js'], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become healthy within 60 s');
}

export async function stopServer(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by a process and its children (cluster workers), from /proc. */
export function cpuSeconds(pid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      if (Number(entry) === pid || ppid === pid) total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended while we read
    }
  }
  return total / TICKS_PER_SECOND;
}
