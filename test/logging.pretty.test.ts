import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { testConfig } from './helpers/build-test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// The app as `npm start` builds it in development (LOG_FORMAT=pretty by default), its lines read here.
let testDb: TestDatabase;
const apps: FastifyInstance[] = [];
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await testDb.drop();
});
beforeEach(() => {
  lines.length = 0;
});

async function appWith(env: Record<string, string>) {
  const app = await buildApp({ config: testConfig(env), database: testDb.database, prettyLogTo: sink });
  apps.push(app);
  return app;
}
// Colours off, whatever the terminal: the text is what is checked.
const plain = (line: string) => stripVTControlCharacters(line);

describe('development logs', () => {
  it('when a request is answered, then it is one readable line (method, path, status, time), not JSON', async () => {
    const app = await appWith({ LOG_LEVEL: 'info' });
    await app.inject({ method: 'POST', url: '/login', payload: { username: 'nobody@example.com', password: 'wrong password' } });
    const logged = lines.map(plain).filter((line) => line.includes('/login'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: POST \/login 401 \d+\.\d ms$/);
  });

  it('when the box office polls (successful GETs), then nothing is written at info; at debug, one line each', async () => {
    const quiet = await appWith({ LOG_LEVEL: 'info' });
    for (let i = 0; i < 3; i++) await quiet.inject({ url: '/events?upcoming=true' });
    await quiet.inject({ url: '/events/2000000000' });
    expect(lines.map(plain).filter((line) => line.includes('/events'))).toEqual([expect.stringMatching(/INFO: GET \/events\/2000000000 404 /)]);

    lines.length = 0;
    const chatty = await appWith({ LOG_LEVEL: 'debug' });
    await chatty.inject({ url: '/events?upcoming=true' });
    expect(lines.map(plain).filter((line) => line.includes('/events'))).toEqual([expect.stringMatching(/DEBUG: GET \/events\?upcoming=true 200 /)]);
  });

  it('when LOG_FORMAT=json (production’s default), then lines are pino JSON, two per request as before', async () => {
    expect(testConfig({ NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(32) }).logFormat).toBe('json');
    expect(testConfig({}).logFormat).toBe('pretty');
    const json: string[] = [];
    const direct = await buildApp({ config: testConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }), database: testDb.database, logger: { stream: { write: (line: string) => json.push(line) } } });
    apps.push(direct);
    await direct.inject({ url: '/health/live' });
    expect(json.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => msg.includes('request'))).toEqual(['incoming request', 'request completed']);
  });
});
