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

export function requirements(env: NodeJS.ProcessEnv = process.env, chromiumPresent = existsSync('/usr/bin/chromium')): Requirement[] {
  return [
    {
      marker: /process\.env\.DATABASE_URL/,
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
      marker: /hasChromium/,
      missing: !chromiumPresent,
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
