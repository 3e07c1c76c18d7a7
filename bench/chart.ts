// The benchmark's latest figures as one SVG bar chart (bench/results/latest.svg), shown in docs/benchmark.md.
// Hand-built: a dozen bars and labels do not need a charting library. `npm run bench:chart` redraws it from
// latest.json without running the benchmark.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from './report.js';

interface Bar {
  label: string;
  perSecond: number;
  p99: number | undefined;
  /** What the bar counts when it is not requests (orders, seats). */
  unit?: string;
}

const WIDTH = 760;
const LABEL_WIDTH = 300;
const VALUE_WIDTH = 170;
const ROW = 26;
const TOP = 64;

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One bar per scenario that ran, in the order of the Markdown report. */
export function chartBars(r: BenchResults): Bar[] {
  const bars: Bar[] = [];
  const add = (label: string, run: { okPerSecond: number; p99: number } | undefined) => {
    if (run) bars.push({ label, perSecond: run.okPerSecond, p99: run.p99 });
  };
  if (r.oldDesign) bars.push({ label: `(a) old design, ${r.oldDesign.tool}`, perSecond: r.oldDesign.perSecond, p99: undefined });
  add('(b) GET /health', r.health);
  add('(c) POST /book', r.book);
  add('(c-key) POST /book + Idempotency-Key', r.keyedBook);
  add('(c-many) POST /book, many events', r.manyBook);
  add('(c-crowd) POST /book, crowd', r.crowdBook);
  add('(c-limit) POST /book, max_per_user', r.limitedBook);
  for (const run of r.openLoop) add(`POST /book open loop at ${run.share * 100}%`, run);
  if (r.sellout) add(`sell-out: ${n(r.sellout.capacity)} seats`, r.sellout);
  if (r.orders) {
    bars.push({ label: '(d) POST /orders', perSecond: r.orders.okPerSecond, p99: r.orders.p99, unit: 'orders' });
    bars.push({ label: '(d) seats sold by those orders', perSecond: r.orders.seatsPerSecond, p99: undefined, unit: 'seats' });
  }
  return bars;
}

export function renderChart(r: BenchResults): string {
  const bars = chartBars(r);
  const top = Math.max(1, ...bars.map((bar) => bar.perSecond));
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = TOP + bars.length * ROW + 40;
  const setup = `${r.options.database === 'embedded' ? 'embedded database, ' : ''}${r.options.connections} connections, ${r.options.duration} s per run, ${r.options.workers} server process(es), ${r.options.buyers} buyers`;
  const rows = bars.map((bar, i) => {
    const y = TOP + i * ROW;
    const length = Math.max(1, Math.round((bar.perSecond / top) * plot));
    const value = `${n(bar.perSecond)} ${bar.unit ?? ''}/s${bar.p99 === undefined ? '' : `, p99 ${n(bar.p99, 1)} ms`}`.replace(' /s', '/s');
    const fill = bar.label.startsWith('(a)') ? '#9e9e9e' : bar.label.startsWith('(b)') ? '#5c7cfa' : '#2f9e44';
    return [
      `  <text x="${LABEL_WIDTH - 8}" y="${y + 17}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `  <rect x="${LABEL_WIDTH}" y="${y + 4}" width="${length}" height="${ROW - 8}" fill="${fill}"><title>${escapeXml(`${bar.label}: ${value}`)}</title></rect>`,
      `  <text x="${LABEL_WIDTH + length + 6}" y="${y + 17}">${escapeXml(value)}</text>`,
    ].join('\n');
  });
  const footer = [
    r.ratios.bookOverOldDesign === undefined ? '' : `(c)/(a) = ${n(r.ratios.bookOverOldDesign, 2)}`,
    r.ratios.bookOverHealth === undefined ? '' : `(c)/(b) = ${n(r.ratios.bookOverHealth, 2)}`,
    `invariant ${r.invariant.ok ? 'held' : 'BROKEN'}`,
  ].filter(Boolean);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="title">`,
    `  <title id="title">BookFast flash-sale benchmark, ${escapeXml(r.at)}: successful answers per second</title>`,
    '  <style>text { font: 13px sans-serif; fill: #222; } .head { font-weight: bold; font-size: 15px; } .note { fill: #555; }</style>',
    `  <rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `  <text class="head" x="12" y="24">Flash-sale benchmark, ${escapeXml(r.at.slice(0, 10))}: successful answers per second</text>`,
    `  <text class="note" x="12" y="44">${escapeXml(setup)}</text>`,
    ...rows,
    `  <text class="note" x="12" y="${height - 14}">${escapeXml(footer.join('; '))}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** `npm run bench:chart [results.json]`: redraw the chart next to the results it draws. */
export function writeChart(jsonPath: string): string {
  const svgPath = jsonPath.replace(/\.json$/, '.svg');
  writeFileSync(svgPath, renderChart(JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults));
  return svgPath;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`wrote ${writeChart(process.argv[2] ?? 'bench/results/latest.json')}`);
}
