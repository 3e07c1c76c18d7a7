import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The README's layout promise, checked on the sources: imports point one way between the parts of src/
// (a folder, or a file at its top), type-only imports included, and no source file is over 300 lines.

const SRC = resolve('src');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The part of src/ a file belongs to: its top folder, or the file itself when it sits at the top. */
function partOf(file: string): string {
  return relative(SRC, file).replace(/\.js$/, '.ts').split('/')[0]!;
}

/** Part -> the parts its files import (relative imports only), with one file pair for each tie, as evidence. */
function partGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName);
      const [from, to] = [partOf(file), partOf(target)];
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      graph.get(from)!.set(to, `${relative(SRC, file)} -> ${relative(SRC, target).replace(/\.js$/, '.ts')}`);
    }
  }
  return graph;
}

/** A path of ties that comes back to where it started, or null. */
function findLoop(graph: Map<string, Map<string, string>>): string[] | null {
  const done = new Set<string>();
  const walking: string[] = [];
  const visit = (part: string): string[] | null => {
    const at = walking.indexOf(part);
    if (at >= 0) return walking.slice(at).map((from, i, loop) => graph.get(from)!.get(loop[i + 1] ?? part)!);
    if (done.has(part)) return null;
    walking.push(part);
    for (const next of graph.get(part)?.keys() ?? []) {
      const loop = visit(next);
      if (loop) return loop;
    }
    walking.pop();
    done.add(part);
    return null;
  };
  for (const part of graph.keys()) {
    const loop = visit(part);
    if (loop) return loop;
  }
  return null;
}

describe('the layout of src/', () => {
  it('when the imports between its folders are followed, then none comes back to where it started', () => {
    const graph = partGraph();
    // The check itself sees ties: the routes import their services' folders, which import the database.
    expect(graph.get('bookings')?.has('inventory')).toBe(true);
    expect(graph.get('inventory')?.has('db')).toBe(true);
    expect(findLoop(graph)).toBeNull();
  });

  it('when a loop is made up, then the check finds it and names the imports that make it', () => {
    const graph = new Map([
      ['a', new Map([['b', 'a/x.ts -> b/y.ts']])],
      ['b', new Map([['c', 'b/y.ts -> c/z.ts']])],
      ['c', new Map([['a', 'c/z.ts -> a/x.ts']])],
    ]);
    expect(findLoop(graph)).toEqual(['a/x.ts -> b/y.ts', 'b/y.ts -> c/z.ts', 'c/z.ts -> a/x.ts']);
  });

  it('when source files are counted, then none is over 300 lines', () => {
    const long = sourceFiles(SRC)
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });
});
