import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where browsers find the box office. `GET /` stays the old JSON answer for existing clients. */
export const WEB_APP_PREFIX = '/app/';

/**
 * Serves the web box office (web/, built by Vite into web/dist) under /app/. Built file names carry a
 * content hash, so assets are cached for a year and only index.html is revalidated.
 */
export async function registerWebApp(app: FastifyInstance): Promise<void> {
  const root = findWebDist();
  if (!root) {
    app.log.warn('web box office not built (web/dist missing): run `npm run build`');
    const notBuilt = { schema: { hide: true } };
    const answer = () => ({ detail: 'The web box office is not built on this server: run `npm run build`' });
    app.get('/app', notBuilt, (_request, reply) => reply.code(404).send(answer()));
    app.get('/app/*', notBuilt, (_request, reply) => reply.code(404).send(answer()));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    // Without the trailing slash, so `/app` answers 301 to `/app/` (and relative URLs in the page resolve).
    prefix: WEB_APP_PREFIX.slice(0, -1),
    redirect: true,
    // Another plugin may serve files too; the reply.sendFile decorator is not ours to claim.
    decorateReply: false,
    cacheControl: false,
    setHeaders(response, path) {
      response.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

// web/dist sits beside package.json; this file runs from src/http (tsx, tests) or dist/src/http (npm start).
function findWebDist(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'web', 'dist');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (existsSync(join(dir, 'package.json'))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
