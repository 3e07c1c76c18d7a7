import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

// The server serves the box office from web/dist, so tests need it built: once per run, before any file,
// and only when it is missing or older than its sources.
const WEB = join(import.meta.dirname, '..', 'web');
const BUILT = join(WEB, 'dist', 'index.html');

function newestSource(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.name !== 'dist' && entry.name !== 'node_modules')
      .map((entry) => (entry.isDirectory() ? newestSource(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs)),
  );
}

export default async function setup(): Promise<void> {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= newestSource(WEB)) return;
  await build({ root: WEB, logLevel: 'warn' });
}
