import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The architecture's one picture: the parts of src/ (a folder, or a file at its top) in layers, top first.
// A part may import the parts of the layers BELOW its own, never its own layer's nor a higher one's: so
// features never import each other, and the seat core (inventory) imports no feature. Type-only imports count.
// A new folder goes into exactly one layer here before its first import is accepted.
const LAYERS: { layer: string; parts: string[]; holds: string }[] = [
  { layer: 'process', parts: ['server.ts'], holds: 'listens, forks the workers' },
  { layer: 'assembly', parts: ['app.ts', 'cli'], holds: 'builds the app from every feature; command-line tools' },
  { layer: 'wiring', parts: ['deps.ts'], holds: 'the type of what app.ts hands to the features' },
  {
    layer: 'features',
    parts: ['events', 'bookings', 'orders', 'checkin', 'organizers', 'waitlist', 'waiting-room', 'live', 'webhooks'],
    holds: 'routes, schemas, services, repositories of one business component each',
  },
  { layer: 'shared services', parts: ['auth', 'idempotency', 'metrics'], holds: 'who is calling, exactly-once keys, metrics' },
  { layer: 'shapes and seats', parts: ['shapes', 'inventory'], holds: 'the answers every feature gives; the only code that changes seats' },
  { layer: 'outbox', parts: ['outbox'], holds: 'what a selling statement writes for webhooks, in its own commit' },
  { layer: 'http', parts: ['http'], holds: 'plumbing: errors to answers, logging, ids, security headers, SSE' },
  { layer: 'db', parts: ['db'], holds: 'connections, schema, migrations, row types' },
  { layer: 'config', parts: ['config.ts'], holds: 'the settings, read once' },
  { layer: 'base', parts: ['errors.ts', 'currency.ts', 'config-schema.ts'], holds: 'the AppError tree, currencies, the env schema' },
];

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

/** Every import from one part to another (relative imports only), as "from-file -> to-file". */
function crossPartImports(): { from: string; to: string; evidence: string }[] {
  return sourceFiles(SRC).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.filter(({ fileName }) => fileName.startsWith('.'))
      .map(({ fileName }) => resolve(dirname(file), fileName))
      .filter((target) => partOf(file) !== partOf(target))
      .map((target) => ({
        from: partOf(file),
        to: partOf(target),
        evidence: `${relative(SRC, file)} -> ${relative(SRC, target).replace(/\.js$/, '.ts')}`,
      })),
  );
}

/** The imports the table forbids, each named with its layers; an unknown part is an offence of its own. */
function offences(imports: { from: string; to: string; evidence: string }[], layers = LAYERS): string[] {
  const depth = new Map(layers.flatMap(({ layer, parts }, index) => parts.map((part) => [part, { index, layer }] as const)));
  return imports.flatMap(({ from, to, evidence }) => {
    const [a, b] = [depth.get(from), depth.get(to)];
    if (!a) return [`${evidence}: ${from} is in no layer of the table`];
    if (!b) return [`${evidence}: ${to} is in no layer of the table`];
    if (b.index > a.index) return [];
    const where = b.index === a.index ? `both in "${a.layer}"` : `"${b.layer}" is above "${a.layer}"`;
    return [`${evidence}: ${where}`];
  });
}

describe('the layout of src/', () => {
  it('when every import between parts is held against the table, then each points to a lower layer', () => {
    const imports = crossPartImports();
    // The check itself sees ties: the routes import their services' folders, which import the database.
    expect(imports.some(({ from, to }) => from === 'bookings' && to === 'inventory')).toBe(true);
    expect(imports.some(({ from, to }) => from === 'inventory' && to === 'db')).toBe(true);
    expect(offences(imports)).toEqual([]);
  });

  it('when every folder and top file of src/ is listed, then each is in exactly one layer', () => {
    const listed = LAYERS.flatMap(({ parts }) => parts);
    const present = [...new Set(sourceFiles(SRC).map(partOf))];
    expect(present.filter((part) => !listed.includes(part))).toEqual([]);
    expect(listed.filter((part, index) => listed.indexOf(part) !== index)).toEqual([]);
  });

  it('when a feature imports another feature, an upper layer or an unlisted part, then the check names the import', () => {
    const layers = [
      { layer: 'features', parts: ['orders', 'bookings'], holds: '' },
      { layer: 'inventory', parts: ['inventory'], holds: '' },
    ];
    expect(
      offences(
        [
          { from: 'orders', to: 'inventory', evidence: 'orders/service.ts -> inventory/returns.ts' },
          { from: 'orders', to: 'bookings', evidence: 'orders/service.ts -> bookings/service.ts' },
          { from: 'inventory', to: 'orders', evidence: 'inventory/returns.ts -> orders/schemas.ts' },
          { from: 'payments', to: 'inventory', evidence: 'payments/service.ts -> inventory/returns.ts' },
        ],
        layers,
      ),
    ).toEqual([
      'orders/service.ts -> bookings/service.ts: both in "features"',
      'inventory/returns.ts -> orders/schemas.ts: "features" is above "inventory"',
      'payments/service.ts -> inventory/returns.ts: payments is in no layer of the table',
    ]);
  });

  it('when source files are counted, then none is over 300 lines', () => {
    const long = sourceFiles(SRC)
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });
});
