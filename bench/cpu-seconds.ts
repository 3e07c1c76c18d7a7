import { readdirSync, readFileSync } from 'node:fs';

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

/** CPU seconds this (the bench's) process has used since `start` (a process.cpuUsage() reading). */
export function benchCpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Starts counting the server's CPU (its process and workers) and the bench's; call the result to read both. */
export function cpuMeter(serverPid: number): () => { serverCpuSeconds: number; benchCpuSeconds: number } {
  const bench = process.cpuUsage();
  const server = cpuSeconds(serverPid);
  return () => ({ serverCpuSeconds: cpuSeconds(serverPid) - server, benchCpuSeconds: benchCpuSince(bench) });
}
