import { existsSync } from 'node:fs';

// What some tests need and a plain `npm test` may lack, how a test file shows it needs it (a word in its
// source), and how to run them. Used by test/skipped-reporter.ts to say what a run skipped and why.
export interface Requirement {
  /** Found in the source of every test file that skips without it. */
  marker: RegExp;
  missing: boolean;
  what: string;
  how: string;
}

export function requirements(env: NodeJS.ProcessEnv = process.env, installed: (path: string) => boolean = existsSync): Requirement[] {
  return [
    {
      // The PgBouncer and replica helpers check it too.
      marker: /process\.env\.DATABASE_URL|pgBouncerMissing|replicaMissing/,
      missing: !env.DATABASE_URL,
      what: 'DATABASE_URL is unset: tests of several server processes, outages and LISTEN/NOTIFY need a PostgreSQL server',
      how: 'DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm test   (they create and drop their own databases)',
    },
    {
      marker: /REDIS_URL/,
      missing: !env.TEST_REDIS_URL,
      what: 'TEST_REDIS_URL is unset: tests of limits and live seats shared through Redis need a Redis server',
      how: 'TEST_REDIS_URL=redis://127.0.0.1:6379 npm test   (the live-seat test also tries redis://127.0.0.1:6379 on its own)',
    },
    {
      marker: /pgBouncerMissing/,
      missing: !installed('/usr/sbin/pgbouncer'),
      what: '/usr/sbin/pgbouncer is missing: the tests through PgBouncer in transaction mode need it',
      how: 'apt-get install pgbouncer, then run them with DATABASE_URL as above',
    },
    {
      marker: /haproxyMissing/,
      missing: !installed('/usr/sbin/haproxy'),
      what: '/usr/sbin/haproxy is missing: the test of several hosts behind a load balancer needs it',
      how: 'apt-get install haproxy, then run it with DATABASE_URL and TEST_REDIS_URL as above',
    },
    {
      marker: /replicaMissing/,
      missing: !installed('/usr/lib/postgresql/15/bin/pg_basebackup'),
      what: 'PostgreSQL 15 server binaries are missing: the replica tests make a throwaway primary and replica',
      how: 'install the postgresql-15 server package, then run them with DATABASE_URL as above',
    },
    {
      marker: /hasChromium/,
      missing: !installed('/usr/bin/chromium'),
      what: '/usr/bin/chromium is missing: the browser tests drive Debian\'s Chromium',
      how: 'apt-get install chromium, then npm test',
    },
  ];
}

export interface SkippedFile {
  file: string;
  skipped: number;
  source: string;
}

/** The lines to print after the run: nothing when nothing was skipped. */
export function describeSkipped(files: SkippedFile[], needs: Requirement[]): string[] {
  const skipped = files.filter((file) => file.skipped > 0);
  if (skipped.length === 0) return [];
  const total = skipped.reduce((sum, file) => sum + file.skipped, 0);
  const missing = needs.filter((need) => need.missing);
  const lines = [`Skipped ${total} test${total === 1 ? '' : 's'} that need what this run does not have:`];
  for (const file of skipped) {
    const reasons = missing.filter((need) => need.marker.test(file.source)).map((need) => need.what.split(':')[0]!);
    lines.push(`  ${file.file}: ${file.skipped} (${reasons.length > 0 ? reasons.join('; ') : 'skipped in the file itself'})`);
  }
  for (const need of missing.filter((need) => skipped.some((file) => need.marker.test(file.source)))) {
    lines.push(`- ${need.what}.`, `  Run them with: ${need.how}`);
  }
  return lines;
}
