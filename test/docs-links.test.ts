import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationFiles } from '../scripts/doc-examples.js';

// The README was split into docs/ by reader: a link that points nowhere is a page (or a part) a reader loses.
const ROOT = resolve(import.meta.dirname, '..');
const pages = [...documentationFiles(ROOT), 'bench/results/HISTORY.md'];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

function anchorsOf(file: string): Set<string> {
  const headings = readFileSync(join(ROOT, file), 'utf8').matchAll(/^#+ (.*)$/gm);
  return new Set([...headings].map((match) => anchorOf(match[1]!)));
}

/** Every relative link of a Markdown text that does not lead to a file (or to a heading of it). */
function brokenLinks(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^(https?:|mailto:)/.test(target))
    .filter((target) => {
      const [path = '', anchor] = target.split('#');
      const linked = path === '' ? file : normalize(join(dirname(file), path));
      if (!existsSync(join(ROOT, linked))) return true;
      return anchor !== undefined && linked.endsWith('.md') && !anchorsOf(linked).has(anchor);
    });
}

describe('the links of the README, docs/ and the benchmark history', () => {
  it.each(pages)('when %s is read, then every relative link leads to a file and heading that exist', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('when a link points at a missing page or heading, then it is reported, and a good one is not', () => {
    // Arrange
    const text = '[a](nowhere.md) [b](getting-started.md#nope) [c](getting-started.md#the-embedded-database-and-when-to-move-to-postgresql) [d](#examples-that-run) [e](https://pglite.dev)';

    // Act
    const broken = brokenLinks('docs/README.md', text);

    // Assert
    expect(broken).toEqual(['nowhere.md', 'getting-started.md#nope']);
  });
});
