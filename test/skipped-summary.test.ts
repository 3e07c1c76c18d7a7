import { describe, expect, it } from 'vitest';
import { describeSkipped, requirements } from './helpers/skipped-summary.js';

describe('the summary of skipped tests printed after npm test', () => {
  const needs = requirements({}, () => false);

  it('when tests that need PostgreSQL and Chromium were skipped, then it names their files, why, and the command', () => {
    const lines = describeSkipped(
      [
        { file: 'test/faults.test.ts', skipped: 3, source: 'describe.skipIf(!process.env.DATABASE_URL)(...)' },
        { file: 'test/browser/docs.test.ts', skipped: 1, source: 'describe.skipIf(!hasChromium)(...)' },
        { file: 'test/events.test.ts', skipped: 0, source: '' },
      ],
      needs,
    );
    const text = lines.join('\n');
    expect(lines[0]).toBe('Skipped 4 tests that need what this run does not have:');
    expect(text).toContain('test/faults.test.ts: 3 (DATABASE_URL is unset)');
    expect(text).toContain('test/browser/docs.test.ts: 1 (/usr/bin/chromium is missing)');
    expect(text).toContain('DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm test');
    expect(text).toContain('apt-get install chromium');
    expect(text).not.toContain('events.test.ts');
    expect(text).not.toContain('TEST_REDIS_URL=');
  });

  it('when a Redis test was skipped, then it says TEST_REDIS_URL enables it', () => {
    const text = describeSkipped([{ file: 'test/security.test.ts', skipped: 1, source: 'it.skipIf(!process.env.TEST_REDIS_URL)' }], needs).join('\n');
    expect(text).toContain('Skipped 1 test that');
    expect(text).toContain('TEST_REDIS_URL=redis://127.0.0.1:6379 npm test');
  });

  it('when the PgBouncer tests were skipped on the embedded database, then both PostgreSQL and PgBouncer are named', () => {
    const onlyPgbouncerMissing = requirements({}, (path) => path !== '/usr/sbin/pgbouncer');
    const text = describeSkipped([{ file: 'test/pgbouncer.test.ts', skipped: 4, source: 'const missing = pgBouncerMissing();' }], onlyPgbouncerMissing).join('\n');
    expect(text).toContain('test/pgbouncer.test.ts: 4 (DATABASE_URL is unset; /usr/sbin/pgbouncer is missing)');
    expect(text).toContain('apt-get install pgbouncer');
  });

  it('when nothing was skipped, then it prints nothing', () => {
    expect(describeSkipped([{ file: 'test/events.test.ts', skipped: 0, source: 'process.env.DATABASE_URL' }], needs)).toEqual([]);
  });

  it('when everything is present, then a skipped test is reported as skipped in its own file', () => {
    const all = requirements({ DATABASE_URL: 'postgres://x', TEST_REDIS_URL: 'redis://x' }, () => true);
    expect(describeSkipped([{ file: 'test/x.test.ts', skipped: 2, source: 'it.skip(...)' }], all)).toEqual([
      'Skipped 2 tests that need what this run does not have:',
      '  test/x.test.ts: 2 (skipped in the file itself)',
    ]);
  });
});
