// `npm start`'s prestart: build the server (tsc) and the box office (vite) only when their sources changed
// since the last successful build, so a restart after `npm run user:promote` starts at once. Plain
// JavaScript, run by node itself: no compiler is needed to decide whether the compiler is needed.
// A part is current when the hash of its inputs equals the one written beside its output after its last
// successful build; contents, not mtimes, so a checkout or a copy cannot fool it either way.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const root = process.cwd();

/** What each part is built from, the npm script that builds it, and where its stamp lives. */
const PARTS = [
  { name: 'server', script: 'build:server', inputs: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'], stamp: 'dist/.build-inputs' },
  { name: 'box office', script: 'build:web', inputs: ['web', 'client', 'package-lock.json'], stamp: 'web/dist/.build-inputs', skip: ['web/dist'] },
];

function filesUnder(path, skip) {
  const full = join(root, path);
  if (skip.includes(path) || !existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .sort()
    .flatMap((name) => (name === 'node_modules' ? [] : filesUnder(join(path, name), skip)));
}

function inputsHash(part) {
  const hash = createHash('sha256');
  for (const file of part.inputs.flatMap((input) => filesUnder(input, part.skip ?? []))) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function builtHash(part) {
  const stamp = join(root, part.stamp);
  return existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
}

const force = process.argv.includes('--force');
for (const part of PARTS) {
  const wanted = inputsHash(part);
  if (!force && builtHash(part) === wanted) {
    process.stdout.write(`${part.name}: current, not rebuilt\n`);
    continue;
  }
  process.stdout.write(`${part.name}: sources changed since the last build, building (npm run ${part.script})\n`);
  const run = spawnSync('npm', ['run', '--silent', part.script], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  writeFileSync(join(root, part.stamp), `${wanted}\n`);
}
