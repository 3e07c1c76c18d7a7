import { readFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import { describeSkipped, requirements } from './helpers/skipped-summary.js';

// Printed after Vitest's own summary (which CI reads, so it stays as it is): which tests were skipped for
// want of PostgreSQL, Redis or Chromium, and the command that runs them.
export default class SkippedReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const files = testModules.map((module) => ({
      file: module.relativeModuleId,
      skipped: [...module.children.allTests('skipped')].length,
      source: readFileSync(module.moduleId, 'utf8'),
    }));
    const lines = describeSkipped(files, requirements());
    if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
