/**
 * Charts drawn on the server as inline SVG: no script, no library, nothing fetched, and they print. Pure functions
 * of their data; every label is escaped.
 */
import { escapeHtml as esc } from './html';

export const TYPE_COLOURS: Record<string, string> = { transaction: '#2f6fdb', 'card-at-risk': '#d98a1c', 'compromised-point': '#c43b3b' };

/** Stacked bars: one bar per slot (hour), one colour per series (alert type). */
export function stackedBars(slots: string[], series: Record<string, number[]>, options: { width?: number; height?: number; title: string }): string {
  const width = options.width ?? 640;
  const height = options.height ?? 130;
  const pad = { left: 34, right: 8, top: 10, bottom: 22 };
  const totals = slots.map((_, i) => Object.values(series).reduce((sum, values) => sum + (values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = (width - pad.left - pad.right) / Math.max(1, slots.length);
  const y = (v: number) => pad.top + (height - pad.top - pad.bottom) * (1 - v / max);
  let bars = '';
  slots.forEach((slot, i) => {
    let base = 0;
    for (const [name, values] of Object.entries(series)) {
      const v = values[i] ?? 0;
      if (v === 0) continue;
      const top = y(base + v);
      bars += `<rect x="${(pad.left + i * step + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${(y(base) - top).toFixed(1)}" fill="${TYPE_COLOURS[name] ?? '#888'}"><title>${esc(`${slot} ${name}: ${v}`)}</title></rect>`;
      base += v;
    }
  });
  const ticks = [0, Math.round(max / 2), max]
    .map((v) => `<text x="${pad.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${v}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`)
    .join('');
  const every = Math.max(1, Math.ceil(slots.length / 8));
  const xLabels = slots
    .map((s, i) => (i % every === 0 ? `<text x="${(pad.left + i * step + step / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle">${esc(s)}</text>` : ''))
    .join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(options.title)}">${ticks}${bars}${xLabels}</svg>`;
}

/** A histogram of scores in equal bins over [0, 1], with the review and block thresholds marked. */
export function histogram(bins: number[], options: { width?: number; height?: number; title: string; marks?: Array<{ at: number; label: string }> }): string {
  const width = options.width ?? 420;
  const height = options.height ?? 130;
  const pad = { left: 40, right: 8, top: 10, bottom: 22 };
  // decisions pile up near zero: a square-root scale keeps the alerting tail visible
  const max = Math.max(1, ...bins);
  const plotH = height - pad.top - pad.bottom;
  const step = (width - pad.left - pad.right) / bins.length;
  const h = (v: number) => (plotH * Math.sqrt(v)) / Math.sqrt(max);
  const bars = bins
    .map((v, i) => {
      const from = (i / bins.length).toFixed(2);
      const to = ((i + 1) / bins.length).toFixed(2);
      return `<rect x="${(pad.left + i * step + 1).toFixed(1)}" y="${(pad.top + plotH - h(v)).toFixed(1)}" width="${(step - 2).toFixed(1)}" height="${h(v).toFixed(1)}" class="bar"><title>${from}–${to}: ${v}</title></rect>`;
    })
    .join('');
  const marks = (options.marks ?? [])
    .map((m) => {
      const x = pad.left + m.at * (width - pad.left - pad.right);
      return `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${pad.top}" y2="${pad.top + plotH}" class="mark"/><text x="${(x + 3).toFixed(1)}" y="${pad.top + 9}" class="mark-label">${esc(m.label)}</text>`;
    })
    .join('');
  const axis = [0, 0.5, 1].map((v) => `<text x="${(pad.left + v * (width - pad.left - pad.right)).toFixed(1)}" y="${height - 6}" text-anchor="middle">${v}</text>`).join('');
  const yTicks = `<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end">${max}</text><text x="${pad.left - 4}" y="${pad.top + plotH}" text-anchor="end">0</text>`;
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(options.title)}">${yTicks}${bars}${marks}${axis}</svg>`;
}

/** A small line of daily values (a rule's hits over time). */
export function sparkline(values: number[], options: { width?: number; height?: number; title: string }): string {
  const width = options.width ?? 160;
  const height = options.height ?? 28;
  const max = Math.max(1, ...values);
  const n = values.length;
  if (n === 0) return '';
  const x = (i: number) => (n === 1 ? width / 2 : 2 + (i * (width - 4)) / (n - 1));
  const y = (v: number) => height - 3 - ((height - 6) * v) / max;
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = values[n - 1];
  return `<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(options.title)}"><polyline points="${points}" fill="none"/><circle cx="${x(n - 1).toFixed(1)}" cy="${y(last).toFixed(1)}" r="2"/></svg>`;
}
