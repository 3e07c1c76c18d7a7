import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface ReplicatedPair {
  /** URL of `database` on the throwaway primary, or on its streaming replica. */
  primaryUrl(database: string): string;
  replicaUrl(database: string): string;
  stopReplica(): void;
  stop(): void;
}

/** Why no throwaway primary and replica can be made here, or undefined when they can. */
export function replicaMissing(): string | undefined {
  if (!process.env.DATABASE_URL) return 'DATABASE_URL is unset (the replica tests run with the PostgreSQL suite)';
  try {
    for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup']) accessSync(join(BIN, tool), constants.X_OK);
    return undefined;
  } catch {
    return `PostgreSQL 15 server binaries are not in ${BIN}`;
  }
}

/**
 * A PostgreSQL 15 primary (initdb, trust auth on 127.0.0.1, replication allowed) and a streaming replica made
 * from it with `pg_basebackup -R`, each on a free port, in a temp folder removed by stop(). The shared server
 * is left alone: its pg_hba allows no replication. Run as root, the clusters run as the postgres user.
 */
export async function startReplicatedPair(): Promise<ReplicatedPair> {
  const dir = mkdtempSync(join(tmpdir(), 'bookfast-replica-'));
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(BIN, tool), asRoot ? ['-u', 'postgres', '--', join(BIN, tool), ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const options = (port: number) => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=40`;
  const started: string[] = [];
  const stopCluster = (data: string) => {
    if (!started.includes(data)) return;
    run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    started.splice(started.indexOf(data), 1);
  };
  const stop = () => {
    for (const data of [...started]) stopCluster(data);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const primary = join(dir, 'primary');
    const replica = join(dir, 'replica');
    run('initdb', ['-D', primary, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    run('pg_ctl', ['-D', primary, '-o', `${options(primaryPort)} -c wal_level=replica -c max_wal_senders=4`, '-l', join(dir, 'primary.log'), '-w', 'start']);
    started.push(primary);
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replica, '-R', '-X', 'stream', '--no-sync']);
    run('pg_ctl', ['-D', replica, '-o', `${options(replicaPort)} -c hot_standby=on`, '-l', join(dir, 'replica.log'), '-w', 'start']);
    started.push(replica);
    return {
      primaryUrl: (database) => `postgres://postgres@127.0.0.1:${primaryPort}/${database}`,
      replicaUrl: (database) => `postgres://postgres@127.0.0.1:${replicaPort}/${database}`,
      stopReplica: () => stopCluster(replica),
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
