import { execFileSync, execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

// The prestart decides what to rebuild. It runs here on a small project of the same shape whose two builds
// only write their output and note that they ran, so the test counts builds instead of waiting for tsc.
describe('the prestart build', () => {
  const script = resolve('scripts/build-if-stale.mjs');
  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), 'bookfast-prestart-'));
    const build = (out: string, name: string) => `node -e "require('fs').mkdirSync('${out}',{recursive:true});require('fs').appendFileSync('builds.log','${name}\\n')"`;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { 'build:server': build('dist/src', 'server'), 'build:web': build('web/dist', 'web') } }));
    for (const folder of ['src', 'web/src', 'client']) mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, 'src/server.ts'), 'export {};\n');
    writeFileSync(join(dir, 'web/src/main.ts'), 'export {};\n');
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
    return dir;
  };
  const prestart = (dir: string) => execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
  const builds = (dir: string) => (existsSync(join(dir, 'builds.log')) ? readFileSync(join(dir, 'builds.log'), 'utf8').trim().split('\n') : []);

  it('when nothing was built yet (a fresh clone), then both the server and the box office are built', () => {
    const dir = project();
    try {
      prestart(dir);
      expect(builds(dir)).toEqual(['server', 'web']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the sources did not change since the last build, then a restart builds nothing', () => {
    const dir = project();
    try {
      prestart(dir);
      const output = prestart(dir);
      expect(builds(dir)).toEqual(['server', 'web']);
      expect(output).toContain('server: current, not rebuilt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when only a server source changed, then only the server is rebuilt; when a web source changed, only the web', () => {
    const dir = project();
    try {
      prestart(dir);
      appendFileSync(join(dir, 'src/server.ts'), 'export const changed = 1;\n');
      prestart(dir);
      appendFileSync(join(dir, 'web/src/main.ts'), 'export const changed = 1;\n');
      prestart(dir);
      expect(builds(dir)).toEqual(['server', 'web', 'server', 'web']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a build fails, then the next start tries it again', () => {
    const dir = project();
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      const working = manifest.scripts['build:server']!;
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { ...manifest.scripts, 'build:server': 'exit 2' } }));
      expect(() => prestart(dir)).toThrow();
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { ...manifest.scripts, 'build:server': working } }));
      prestart(dir);
      expect(builds(dir)).toEqual(['server', 'web']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
