import { execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/server-process.js';

// `npm start` runs the server under a shell (npm -> sh -> node). A SIGTERM to npm reaches the shell, which
// dies without passing it on; the server must still stop (it watches for its parent going away).
describe('a server started the way npm starts it', () => {
  it('when the shell between npm and the server is killed with SIGTERM, then the server stops by itself', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bookfast-npm-start-'));
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, npm_lifecycle_event: 'start', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    // `; true`: the shell stays between, as Debian's sh does for npm's scripts (bash would exec a lone command).
    const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" --import tsx src/server.ts; true`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let serverPid = 0;
    try {
      for (let ready = false; !ready; ) {
        ready = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      serverPid = Number(execSync(`pgrep -P ${shell.pid!}`).toString().trim());
      expect(serverPid).toBeGreaterThan(0);
      shell.kill('SIGTERM');
      await once(shell, 'exit');
      // The orphaned server notices within about half a second and closes; then nothing answers on its port.
      const gone = Date.now() + 20_000;
      let alive = true;
      while (alive && Date.now() < gone) {
        try {
          process.kill(serverPid, 0);
          await new Promise((resolve) => setTimeout(resolve, 100));
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      expect(await fetch(`http://127.0.0.1:${port}/health`).then(() => 'answered', () => 'refused')).toBe('refused');
    } finally {
      shell.kill('SIGKILL');
      if (serverPid > 0) {
        try {
          process.kill(serverPid, 'SIGKILL');
        } catch {
          // Already gone, as it should be.
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
