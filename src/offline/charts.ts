/**
 * Two hand-written SVG charts for people who would rather look than read: precision–recall curves and Card
 * Precision@k per day, one line per scoring system. Pure string building, no dependencies.
 */
import type { PrPoint } from './metrics';

export interface ChartSeries<T> {
  name: string;
  points: T;
}

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 60, right: 170, top: 40, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Frame {
  x(value: number): number;
  y(value: number): number;
  body: string[];
}

/** Axes from 0 to 1 on y, [xMin, xMax] on x, with ticks, labels and a title. */
function frame(title: string, xLabel: string, yLabel: string, xMin: number, xMax: number, xTicks: number[], xTickLabel: (v: number) => string): Frame {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const span = xMax - xMin || 1;
  const x = (v: number) => MARGIN.left + ((v - xMin) / span) * plotWidth;
  const y = (v: number) => MARGIN.top + (1 - v) * plotHeight;
  const body: string[] = [
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    body.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    body.push(`<text x="${MARGIN.left - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(1)}</text>`);
  }
  for (const tick of xTicks) {
    body.push(`<line x1="${x(tick)}" x2="${x(tick)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`);
    body.push(`<text x="${x(tick)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle" font-size="11">${escapeXml(xTickLabel(tick))}</text>`);
  }
  body.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  body.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle" font-size="13">${escapeXml(xLabel)}</text>`);
  body.push(`<text x="16" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 16 ${MARGIN.top + plotHeight / 2})">${escapeXml(yLabel)}</text>`);
  return { x, y, body };
}

function legend(names: string[]): string[] {
  return names.flatMap((name, i) => {
    const top = MARGIN.top + 10 + i * 22;
    const left = WIDTH - MARGIN.right + 14;
    return [
      `<line x1="${left}" x2="${left + 24}" y1="${top}" y2="${top}" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2.5"/>`,
      `<text x="${left + 30}" y="${top + 4}" font-size="12">${escapeXml(name)}</text>`,
    ];
  });
}

function svg(body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">\n${body.join('\n')}\n</svg>\n`;
}

/** Keeps at most `limit` points, evenly spread, always including the last. */
function thin<T>(points: readonly T[], limit: number): T[] {
  if (points.length <= limit) return [...points];
  const step = points.length / limit;
  const kept = Array.from({ length: limit }, (_, i) => points[Math.floor(i * step)]);
  kept.push(points[points.length - 1]);
  return kept;
}

/** Precision (y) against recall (x), as a step line from the highest threshold down. */
export function precisionRecallSvg(title: string, series: ReadonlyArray<ChartSeries<readonly PrPoint[]>>): string {
  const chart = frame(title, 'recall', 'precision', 0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1], (v) => v.toFixed(1));
  series.forEach(({ points }, i) => {
    const path = thin(points, 600).map((p, j) => `${j === 0 ? 'M' : 'L'}${chart.x(p.recall).toFixed(1)},${chart.y(p.precision).toFixed(1)}`);
    if (path.length > 0) chart.body.push(`<path d="${path.join(' ')}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`);
  });
  return svg([...chart.body, ...legend(series.map((s) => s.name))]);
}

export interface DayValue {
  day: number;
  value: number;
}

/** One value per day (e.g. CP@100), a line with dots per series; x ticks are dates. */
export function dailySvg(title: string, yLabel: string, series: ReadonlyArray<ChartSeries<readonly DayValue[]>>): string {
  const days = series.flatMap((s) => s.points.map((p) => p.day));
  const first = days.length > 0 ? Math.min(...days) : 0;
  const last = days.length > 0 ? Math.max(...days) : 1;
  const every = Math.max(1, Math.ceil((last - first + 1) / 8));
  const ticks: number[] = [];
  for (let d = first; d <= last; d += every) ticks.push(d);
  const chart = frame(title, 'day (UTC)', yLabel, first - 0.5, last + 0.5, ticks, (d) => new Date(d * 86_400_000).toISOString().slice(5, 10));
  series.forEach(({ points }, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const path = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${chart.x(p.day).toFixed(1)},${chart.y(p.value).toFixed(1)}`);
    if (path.length > 0) chart.body.push(`<path d="${path.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of points) chart.body.push(`<circle cx="${chart.x(p.day).toFixed(1)}" cy="${chart.y(p.value).toFixed(1)}" r="3" fill="${colour}"/>`);
  });
  return svg([...chart.body, ...legend(series.map((s) => s.name))]);
}
