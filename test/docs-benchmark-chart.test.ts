import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chartBars, renderChart } from '../bench/chart.js';
import type { BenchResults } from '../bench/report.js';

const results = (name: string) => JSON.parse(readFileSync(new URL(`../bench/results/${name}`, import.meta.url), 'utf8')) as BenchResults;

describe('the benchmark chart', () => {
  it('when latest.json is drawn now, then the committed latest.svg is exactly that drawing', () => {
    // Arrange
    const latest = results('latest.json');

    // Act
    const drawn = renderChart(latest);

    // Assert
    expect(readFileSync(new URL('../bench/results/latest.svg', import.meta.url), 'utf8'), 'bench/results/latest.svg is stale: run `npm run bench:chart` and commit it').toBe(drawn);
  });

  it('when a run holds every scenario, then each has its bar, labelled with its rate', () => {
    // Arrange: the third session's last full run, which has (c-key), (c-many), (c-crowd) and (c-limit) too.
    const full = results('2026-11-30c-after.json');

    // Act
    const svg = renderChart(full);
    const bars = chartBars(full);

    // Assert
    expect(bars.map((bar) => bar.label)).toEqual(expect.arrayContaining(['(c) POST /book', '(c-key) POST /book + Idempotency-Key', '(c-limit) POST /book, max_per_user', '(d) POST /orders']));
    expect(svg.match(/<rect x=/g)).toHaveLength(bars.length);
    expect(svg).toContain(`${Math.round(full.book!.okPerSecond).toLocaleString('en-US')}/s`);
  });

  it('when a label holds markup characters, then the SVG escapes them', () => {
    // Arrange
    const latest = { ...results('latest.json'), at: '<2026 & later>' };

    // Act
    const svg = renderChart(latest);

    // Assert
    expect(svg).toContain('&lt;2026 &amp; later&gt;');
    expect(svg).not.toContain('<2026');
  });
});
