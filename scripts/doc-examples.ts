// The shell examples of README.md and docs/ that test/docs-examples.test.ts runs: a ```bash fence right
// after a `<!-- example -->` line (or `<!-- example: server stopped -->`, run while the server is stopped).
// The convention is written down in docs/README.md, "Examples that run".
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** Repository-relative path and the line of the fence, for messages. */
  file: string;
  line: number;
  script: string;
  serverStopped: boolean;
}

const MARKER = /^<!-- example(?:: (server stopped))? -->$/;

/** Every marked example of one Markdown text, in order; a marker not followed by a bash fence is an error. */
export function extractExamples(markdown: string, file: string): DocExample[] {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  lines.forEach((text, index) => {
    const marker = MARKER.exec(text.trim());
    if (!marker) {
      if (text.trim().startsWith('<!-- example')) throw new Error(`${file}:${index + 1}: unknown example marker ${text.trim()}`);
      return;
    }
    if (lines[index + 1]?.trim() !== '```bash') throw new Error(`${file}:${index + 1}: an example marker must sit right above a \`\`\`bash fence`);
    const end = lines.findIndex((candidate, at) => at > index + 1 && candidate.trim() === '```');
    if (end === -1) throw new Error(`${file}:${index + 2}: the example's fence is never closed`);
    examples.push({ file, line: index + 2, script: lines.slice(index + 2, end).join('\n'), serverStopped: marker[1] !== undefined });
  });
  return examples;
}

/** README.md and every Markdown file under docs/, in a stable order. */
export function documentationFiles(root: string): string[] {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return [join(root, 'README.md'), ...walk(join(root, 'docs')).sort()].map((path) => relative(root, path));
}

export function examplesOf(root: string, file: string): DocExample[] {
  return extractExamples(readFileSync(join(root, file), 'utf8'), file);
}
