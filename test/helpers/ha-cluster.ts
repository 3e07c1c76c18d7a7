// The failover topology of ops/ha (etcd, three PostgreSQL 15 nodes under Patroni, HAProxy) for the failover
// test and the bench. Plain Node (no vitest), so that the bench can import it too.
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const OPS = resolve(dirname(fileURLToPath(import.meta.url)), '../../ops/ha');
const TOOLS = ['/usr/bin/patroni', '/usr/bin/etcd', '/usr/sbin/haproxy', '/usr/lib/postgresql/15/bin/postgres'];
const run = promisify(execFile);

/** Why the cluster cannot run here, or undefined when it can. */
export function haClusterMissing(): string | undefined {
  for (const tool of TOOLS) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      return `${tool} is not installed (apt-get install patroni etcd-server haproxy postgresql-15)`;
    }
  }
  // The nodes run as postgres (PostgreSQL refuses root); killing them "like a machine" takes root.
  if (process.getuid?.() !== 0) return 'the HA cluster is started as postgres and its nodes are killed: run as root';
  return undefined;
}

export interface Member {
  name: string;
  role: 'leader' | 'replica' | 'sync_standby' | string;
  state: string;
  timeline?: number;
  lag?: number | string;
}

export interface HaCluster {
  dir: string;
  /** Through HAProxy's write port (the primary) or read port (the replicas), to `database`. */
  writeUrl(database: string): string;
  readUrl(database: string): string;
  members(): Promise<Member[]>;
  /** The leader's name (other than `other`), waiting (up to `timeoutMs`) until there is one that runs. */
  leader(timeoutMs?: number, other?: string): Promise<string>;
  /** The node's machine dies: SIGKILL to its Patroni, its postmaster and the postmaster's children at once. */
  kill(name: string): void;
  /** Starts a killed node's Patroni again (it rejoins as a replica). */
  start(name: string): Promise<void>;
  /** A planned switchover through the leader's REST API; resolves when another node leads and runs. */
  switchover(): Promise<string>;
  /** Turns synchronous_mode on or off (Patroni's dynamic configuration); resolves once the primary applies it. */
  setSynchronous(on: boolean): Promise<void>;
  /** etcd stops answering (SIGSTOP) or answers again (SIGCONT). */
  freezeEtcd(): void;
  thawEtcd(): void;
  stop(): Promise<void>;
}

const nodeNumber = (name: string) => Number(name.replace('node', ''));

/** Starts the cluster (ops/ha/start.sh) on ports from a free block of 30; resolves once it takes writes. */
export async function startHaCluster(): Promise<HaCluster> {
  const base = await freePortBlock(30);
  const { stdout } = await run(`${OPS}/start.sh`, [], { env: { ...process.env, HA_PORT_BASE: String(base) }, timeout: 180_000 });
  const dir = /^DIR=(.*)$/m.exec(stdout)![1]!;
  const api = (n: number) => `http://127.0.0.1:${base + 20 + n}`;
  const pidOf = (file: string) => Number(readFileSync(`${dir}/${file}`, 'utf8').split('\n')[0]);

  const members = async (): Promise<Member[]> => {
    for (const n of [1, 2, 3]) {
      try {
        const response = await fetch(`${api(n)}/cluster`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return ((await response.json()) as { members: Member[] }).members;
      } catch {
        // that node is down: ask the next
      }
    }
    return [];
  };
  const leader = async (timeoutMs = 60_000, other?: string): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await members()).find((m) => m.role === 'leader' && m.state === 'running' && m.name !== other);
      if (found) return found.name;
      if (Date.now() > deadline) throw new Error(`no running leader within ${timeoutMs} ms: ${JSON.stringify(await members())}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  return {
    dir,
    writeUrl: (database) => `postgres://postgres@127.0.0.1:${base + 2}/${database}`,
    readUrl: (database) => `postgres://postgres@127.0.0.1:${base + 3}/${database}`,
    members,
    leader,
    kill(name) {
      const n = nodeNumber(name);
      const postmaster = pidOf(`node${n}/postmaster.pid`);
      const victims = [pidOf(`node${n}.pid`), postmaster, ...childrenOf(postmaster)];
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async start(name) {
      await run(`${OPS}/node.sh`, [dir, String(nodeNumber(name))]);
    },
    async switchover() {
      const from = await leader();
      const response = await fetch(`${api(nodeNumber(from))}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ leader: from }),
      });
      if (!response.ok) throw new Error(`switchover refused: ${response.status} ${await response.text()}`);
      return leader(60_000, from);
    },
    async setSynchronous(on) {
      const response = await fetch(`${api(nodeNumber(await leader()))}/config`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ synchronous_mode: on }),
      });
      if (!response.ok) throw new Error(`PATCH /config refused: ${response.status} ${await response.text()}`);
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${base + 2}/postgres` });
      await client.connect();
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const { rows } = await client.query<{ names: string }>('SELECT current_setting($1) AS names', ['synchronous_standby_names']);
          if ((rows[0]!.names !== '') === on) return;
          if (Date.now() > deadline) throw new Error(`synchronous_standby_names still '${rows[0]!.names}'`);
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        await client.end();
      }
    },
    freezeEtcd: () => process.kill(pidOf('etcd.pid'), 'SIGSTOP'),
    thawEtcd: () => process.kill(pidOf('etcd.pid'), 'SIGCONT'),
    async stop() {
      try {
        process.kill(pidOf('etcd.pid'), 'SIGCONT');
      } catch {
        // not running
      }
      await run(`${OPS}/stop.sh`, [dir, ...(process.env.HA_KEEP_DIR ? [] : ['--remove'])], { timeout: 120_000 });
    },
  };
}

/** The processes whose parent is `pid` (a postmaster's backends and helpers), from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // The parent is the 4th field after the command, which is in parentheses and may hold spaces.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The first port of `size` consecutive free loopback ports, tried at random places in 20000-60000. */
async function freePortBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 4_000) * 10;
    const free = await Promise.all(Array.from({ length: size }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no block of ${size} free ports found`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
