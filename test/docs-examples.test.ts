import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentationFiles, examplesOf, extractExamples, type DocExample } from '../scripts/doc-examples.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { testConfig } from './helpers/build-test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

// Every marked shell example of README.md and docs/ runs, in order per file, with bash against the real app
// on a fresh database and a random port, so an example that fails as written fails the suite (docs/README.md, "Examples
// that run").
const ROOT = resolve(import.meta.dirname, '..');
const files = documentationFiles(ROOT)
  .map((file) => ({ file, examples: examplesOf(ROOT, file) }))
  .filter(({ examples }) => examples.length > 0);

// Variables and functions an example defines are saved after it and read before the next one of the file;
// `set -euo pipefail` makes the first failing command fail the example.
function wrap(example: DocExample, stateFile: string): string {
  return [
    '__before=$(compgen -v)',
    `[ -f '${stateFile}' ] && . '${stateFile}'`,
    'set -euo pipefail',
    example.script,
    'set +eu',
    `for __name in $(compgen -v); do case $'\\n'"$__before"$'\\n' in *$'\\n'"$__name"$'\\n'*) ;; __*) ;; *) declare -p "$__name" ;; esac; done > '${stateFile}.next'`,
    `declare -f >> '${stateFile}.next' && mv '${stateFile}.next' '${stateFile}'`,
  ].join('\n');
}

function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => done({ code, output }));
  });
}

describe('the example markers', () => {
  it('when a marked bash fence follows its marker, then it is extracted with its line, in order', () => {
    // Arrange
    const markdown = ['# Page', '<!-- example -->', '```bash', 'curl -fsS "$BOOKFAST/health"', '```', '```bash', 'not marked', '```', '<!-- example: server stopped -->', '```bash', 'npm run user:promote -- a@b.c admin', '```'].join('\n');

    // Act
    const examples = extractExamples(markdown, 'page.md');

    // Assert
    expect(examples).toEqual([
      { file: 'page.md', line: 3, script: 'curl -fsS "$BOOKFAST/health"', serverStopped: false },
      { file: 'page.md', line: 10, script: 'npm run user:promote -- a@b.c admin', serverStopped: true },
    ]);
  });

  it('when a marker is not right above a bash fence, or is misspelt, then extraction fails naming the line', () => {
    expect(() => extractExamples('<!-- example -->\n\n```bash\necho\n```', 'a.md')).toThrow(/a\.md:1: an example marker must sit right above/);
    expect(() => extractExamples('<!-- example: stopped -->\n```bash\necho\n```', 'b.md')).toThrow(/b\.md:1: unknown example marker/);
  });

  it('when the docs are read, then the README tour, the first admin and the API pages have examples', () => {
    const marked = new Map(files.map(({ file, examples }) => [file, examples]));
    expect(marked.get('README.md')?.length).toBeGreaterThanOrEqual(2);
    expect(marked.get('README.md')?.some((example) => example.serverStopped && example.script.includes('user:promote'))).toBe(true);
    for (const page of ['events-and-bookings', 'orders-and-idempotency', 'organizers', 'waitlist', 'waiting-room', 'webhooks']) {
      expect(marked.get(`docs/api/${page}.md`)?.length, page).toBeGreaterThan(0);
    }
  });
});

/**
 * The real app, as production builds it, listening on `port` (0: a random one) over a fresh database that
 * survives a restart: a throwaway database on DATABASE_URL's server, else an embedded one in a folder.
 */
class ExampleServer {
  private app: FastifyInstance | undefined;
  private database: Database | undefined;
  private testDb: TestDatabase | undefined;
  private port = 0;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'bookfast-examples-'));
  // No webhook worker: the examples' endpoints are made-up addresses, and nothing may leave this machine.
  private readonly config = testConfig({ WEBHOOKS_WORKER: 'off', DATA_DIR: this.dataDir });

  async start(): Promise<string> {
    if (process.env.DATABASE_URL) {
      if (!this.testDb) {
        // Migrated here; the app gets a pool of its own, which a stop closes and a start opens again.
        this.testDb = await createTestDatabase({ poolSize: 1 });
        await this.testDb.database.close();
      }
      this.database = await openDatabase({ databaseUrl: this.testDb.url });
    } else {
      this.database = await openDatabase({ dataDir: join(this.dataDir, 'db') });
      await this.database.migrate();
    }
    this.app = await buildApp({ config: this.config, database: this.database, logger: false });
    const baseUrl = await this.app.listen({ port: this.port, host: '127.0.0.1' });
    this.port = Number(new URL(baseUrl).port);
    return baseUrl;
  }

  /** What a command run beside the server needs to reach the same database. */
  env(): Record<string, string> {
    return this.testDb?.url ? { DATABASE_URL: this.testDb.url } : { DATA_DIR: join(this.dataDir, 'db') };
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.database?.close();
  }

  async drop(): Promise<void> {
    await this.stop();
    await this.testDb?.drop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

describe.each(files)('the examples of $file', ({ examples }) => {
  const server = new ExampleServer();
  let exampleEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const baseUrl = await server.start();
    exampleEnv = { ...process.env, ...server.env(), BOOKFAST: baseUrl };
    if (!process.env.DATABASE_URL) delete exampleEnv.DATABASE_URL;
  });

  afterAll(() => server.drop());

  it.each(examples.map((example) => ({ ...example, at: `${example.file}:${example.line}` })))('when the example at $at runs as written, then it succeeds', async (example) => {
    // Arrange: some steps (user:promote on the embedded database) need the server stopped, as the docs say.
    if (example.serverStopped) await server.stop();

    // Act
    const { code, output } = await runBash(wrap(example, join(server.dataDir, 'state.sh')), exampleEnv);
    if (example.serverStopped) await server.start();

    // Assert
    expect(code, `${example.at} failed (exit ${code}):\n${example.script}\n--- output ---\n${output}`).toBe(0);
  });
});
