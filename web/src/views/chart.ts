import type { Stats } from '../api';

// Sales per hour as an SVG bar chart, drawn by hand (a dozen lines; no chart library). Hours with no sales
// are filled in between the first and the last, so the bars keep time. A table beside it carries the same
// numbers for screen readers and for copying.

const SVG = 'http://www.w3.org/2000/svg';
const HOUR = 3_600_000;
const MAX_BARS = 72;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Every hour from the first sale to the last (at most the last 72), with its count. */
export function hourlySeries(stats: Stats): { hour: Date; sold: number }[] {
  if (stats.sales_per_hour.length === 0) return [];
  const counts = new Map(stats.sales_per_hour.map((row) => [Date.parse(row.hour), row.sold]));
  const last = Date.parse(stats.sales_per_hour.at(-1)!.hour);
  const first = Math.max(Date.parse(stats.sales_per_hour[0]!.hour), last - (MAX_BARS - 1) * HOUR);
  const series = [];
  for (let t = first; t <= last; t += HOUR) series.push({ hour: new Date(t), sold: counts.get(t) ?? 0 });
  return series;
}

export function salesChart(stats: Stats, titleId: string): SVGSVGElement {
  const series = hourlySeries(stats);
  const [width, height, left, bottom, top] = [640, 220, 36, 28, 12];
  const peak = Math.max(1, ...series.map((point) => point.sold));
  const slot = (width - left) / Math.max(series.length, 1);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart', preserveAspectRatio: 'xMidYMid meet' });
  const plot = height - bottom - top;
  chart.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }));
  chart.append(svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end', class: 'tick' }, String(peak)));
  chart.append(svg('text', { x: left - 6, y: height - bottom, 'text-anchor': 'end', class: 'tick' }, '0'));
  const labelEvery = Math.ceil(series.length / 8);
  series.forEach((point, i) => {
    const barHeight = (point.sold / peak) * plot;
    const x = left + i * slot + slot * 0.15;
    const bar = svg('rect', { x, y: height - bottom - barHeight, width: slot * 0.7, height: barHeight, class: 'bar' });
    bar.append(svg('title', {}, `${point.hour.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })}: ${point.sold} sold`));
    chart.append(bar);
    if (i % labelEvery === 0) {
      const label = point.hour.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      chart.append(svg('text', { x: x + slot * 0.35, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, label));
    }
  });
  return chart;
}
