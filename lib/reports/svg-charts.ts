import { escapeHtml } from './html.ts';

/** Inline SVG charts: no script, no fonts or images fetched, readable in print (black axes, patterns by dash). */
export const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568', '#c53030', '#3182ce'];

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  series: Series[];
  /** Horizontal reference lines (warning and critical thresholds). */
  thresholds?: { y: number; label: string; color: string }[];
  xFormat: (x: number) => string;
  yFormat: (y: number) => string;
  yMin?: number;
  yMax?: number;
  /** `auto` (the default): logarithmic when the positive values span two orders of magnitude or more. */
  scale?: 'linear' | 'log' | 'auto';
  width?: number;
  height?: number;
}

/** Whether positive values span at least `orders` orders of magnitude: then a linear axis flattens the small ones onto zero. */
export function spansOrders(values: readonly number[], orders = 2): boolean {
  const positive = values.filter((v) => v > 0);
  return positive.length > 1 && Math.max(...positive) / Math.min(...positive) >= 10 ** orders;
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 280;
  const margin = { top: 28, right: 190, bottom: 36, left: 84 };
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const values = options.series.flatMap((s) => s.points.map((p) => p.y));
  const ys = [...values, ...(options.thresholds ?? []).map((t) => t.y)];
  if (xs.length === 0) return `<p class="empty">${escapeHtml(options.title)}: no data</p>`;
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const log = options.scale === 'log' || ((options.scale ?? 'auto') === 'auto' && spansOrders(ys));
  const allZero = values.every((v) => v === 0);
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  let sy: (y: number) => number;
  let ticks: number[];
  if (log) {
    const positive = ys.filter((v) => v > 0);
    const low = Math.floor(Math.log10(Math.min(...positive)));
    const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...positive))));
    sy = (y: number) => margin.top + plotH - ((Math.min(Math.max(Math.log10(Math.max(y, 10 ** low)), low), high) - low) / (high - low)) * plotH;
    const step = Math.max(1, Math.ceil((high - low) / 6));
    ticks = [];
    for (let k = low; k <= high; k += step) ticks.push(10 ** k);
  } else {
    const yMin = options.yMin ?? 0;
    // An all-zero chart still gets a readable axis (0 to 4), not four ticks that all print as "0.0".
    const yMax = options.yMax ?? (allZero ? yMin + 4 : niceMax(Math.max(...ys, yMin + 1e-9)));
    sy = (y: number) => margin.top + plotH - ((Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin)) * plotH;
    ticks = [0, 1, 2, 3, 4].map((i) => yMin + ((yMax - yMin) * i) / 4);
  }
  const parts: string[] = [];
  const title = `${options.title}${log ? ' (log scale)' : ''}${allZero ? ' — every value is zero' : ''}`;
  parts.push(`<text x="${margin.left}" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>`);
  let previousLabel: string | undefined;
  for (const y of ticks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e2e8f0"/>`);
    const label = options.yFormat(y);
    // Two ticks that print the same would make the axis unreadable: the second one is left unlabelled.
    if (label !== previousLabel) parts.push(`<text x="${margin.left - 6}" y="${(sy(y) + 4).toFixed(1)}" font-size="11" text-anchor="end" class="y-tick">${escapeHtml(label)}</text>`);
    previousLabel = label;
  }
  const xTicks = Math.min(8, new Set(xs).size);
  for (let i = 0; i < xTicks; i++) {
    const x = xTicks === 1 ? xMin : xMin + ((xMax - xMin) * i) / (xTicks - 1);
    parts.push(`<text x="${sx(x).toFixed(1)}" y="${height - 14}" font-size="11" text-anchor="middle">${escapeHtml(options.xFormat(x))}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#1d2430"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#1d2430"/>`);
  let lastLabelY = -Infinity;
  for (const threshold of [...(options.thresholds ?? [])].sort((a, b) => b.y - a.y)) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${sy(threshold.y).toFixed(1)}" y2="${sy(threshold.y).toFixed(1)}" stroke="${threshold.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    // Close thresholds (a log axis brings 60 % and 70 % together): the lower one's label goes under its line.
    const labelY = sy(threshold.y) - 4 < lastLabelY + 12 ? sy(threshold.y) + 13 : sy(threshold.y) - 4;
    lastLabelY = labelY;
    parts.push(`<text x="${margin.left + plotW - 4}" y="${labelY.toFixed(1)}" font-size="11" text-anchor="end" fill="${threshold.color}">${escapeHtml(threshold.label)}</text>`);
  }
  options.series.forEach((series, index) => {
    const color = series.color ?? PALETTE[index % PALETTE.length]!;
    const points = [...series.points].sort((a, b) => a.x - b.x);
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="3 3"' : ''}/>`);
    if (points.length <= 60) for (const p of points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const legendY = margin.top + 14 + index * 16;
    if (legendY < height - 20) {
      parts.push(`<line x1="${width - margin.right + 16}" x2="${width - margin.right + 32}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="3"${series.dashed ? ' stroke-dasharray="3 3"' : ''}/>`);
      parts.push(`<text x="${width - margin.right + 36}" y="${legendY}" font-size="11">${escapeHtml(truncate(series.name, 24))}</text>`);
    }
  });
  return svg(width, height, options.title, parts);
}

/** Horizontal bars, largest first, each labelled with its value: top talkers, rejected traffic by port. */
export function barChart(options: { title: string; bars: { label: string; value: number }[]; format: (value: number) => string; width?: number }): string {
  if (options.bars.length === 0) return `<p class="empty">${escapeHtml(options.title)}: no data</p>`;
  const width = options.width ?? 860;
  const row = 22;
  const left = 200;
  const right = 110;
  const top = 30;
  const height = top + options.bars.length * row + 10;
  const log = spansOrders(options.bars.map((b) => b.value));
  const max = Math.max(...options.bars.map((b) => b.value), 1);
  const length = (value: number) => (value <= 0 ? 0 : log ? (Math.log10(value + 1) / Math.log10(max + 1)) * (width - left - right) : (value / max) * (width - left - right));
  const parts = [`<text x="0" y="16" font-size="13" font-weight="600">${escapeHtml(`${options.title}${log ? ' (log scale)' : ''}`)}</text>`];
  options.bars.forEach((bar, i) => {
    const y = top + i * row;
    parts.push(`<text x="${left - 8}" y="${y + 15}" font-size="11" text-anchor="end">${escapeHtml(truncate(bar.label, 30))}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${length(bar.value).toFixed(1)}" height="${row - 6}" fill="${PALETTE[0]}"/>`);
    parts.push(`<text x="${(left + length(bar.value) + 6).toFixed(1)}" y="${y + 15}" font-size="11" class="bar-value">${escapeHtml(options.format(bar.value))}</text>`);
  });
  return svg(width, height, options.title, parts);
}

/** A matrix as a heat map: one cell per (row, column), darker for more, the value printed in it; colour on a log scale. */
export function heatMap(options: { title: string; rows: string[]; columns: string[]; value: (row: string, column: string) => number; format: (value: number) => string }): string {
  if (options.rows.length === 0 || options.columns.length === 0) return `<p class="empty">${escapeHtml(options.title)}: no data</p>`;
  const cellW = 96;
  const cellH = 30;
  const left = 130;
  const top = 56;
  const width = left + options.columns.length * cellW + 10;
  const height = top + options.rows.length * cellH + 30;
  const values = options.rows.flatMap((r) => options.columns.map((c) => options.value(r, c)));
  const max = Math.max(...values, 1);
  const parts = [`<text x="0" y="16" font-size="13" font-weight="600">${escapeHtml(options.title)}</text>`];
  parts.push(`<text x="${left - 8}" y="${top - 26}" font-size="10" text-anchor="end">from ↓ to →</text>`);
  options.columns.forEach((column, j) => parts.push(`<text x="${left + j * cellW + cellW / 2}" y="${top - 8}" font-size="11" text-anchor="middle">${escapeHtml(truncate(column, 14))}</text>`));
  options.rows.forEach((rowName, i) => {
    parts.push(`<text x="${left - 8}" y="${top + i * cellH + 19}" font-size="11" text-anchor="end">${escapeHtml(truncate(rowName, 18))}</text>`);
    options.columns.forEach((column, j) => {
      const value = options.value(rowName, column);
      const shade = value <= 0 ? 0 : Math.log10(value + 1) / Math.log10(max + 1);
      const light = Math.round(97 - shade * 62);
      parts.push(`<rect x="${left + j * cellW + 1}" y="${top + i * cellH + 1}" width="${cellW - 2}" height="${cellH - 2}" fill="hsl(212, 60%, ${light}%)" stroke="#e2e8f0"><title>${escapeHtml(`${rowName} -> ${column}: ${options.format(value)}`)}</title></rect>`);
      parts.push(`<text x="${left + j * cellW + cellW / 2}" y="${top + i * cellH + 19}" font-size="11" text-anchor="middle" fill="${light < 60 ? '#fff' : '#1d2430'}" class="cell-value">${escapeHtml(value > 0 ? options.format(value) : '·')}</text>`);
    });
  });
  return svg(width, height, options.title, parts);
}

function svg(width: number, height: number, title: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg>`;
}

/** One cell per hour, a row per day, coloured by status: the gaps of an audit at a glance. */
export function hourStrip(options: { title: string; cells: { hour: Date; status: string }[]; colors: Record<string, string> }): string {
  const days = [...new Set(options.cells.map((c) => c.hour.toISOString().slice(0, 10)))].sort();
  const cell = 22;
  const left = 92;
  const top = 40;
  const width = left + 24 * cell + 20;
  const height = top + days.length * cell + 48;
  const parts = [`<text x="0" y="16" font-size="13" font-weight="600">${escapeHtml(options.title)}</text>`];
  for (let h = 0; h < 24; h += 3) parts.push(`<text x="${left + h * cell + cell / 2}" y="${top - 6}" font-size="10" text-anchor="middle">${String(h).padStart(2, '0')}</text>`);
  days.forEach((day, row) => parts.push(`<text x="${left - 6}" y="${top + row * cell + 15}" font-size="11" text-anchor="end">${day}</text>`));
  for (const c of options.cells) {
    const row = days.indexOf(c.hour.toISOString().slice(0, 10));
    const col = c.hour.getUTCHours();
    parts.push(`<rect x="${left + col * cell + 1}" y="${top + row * cell + 1}" width="${cell - 2}" height="${cell - 2}" fill="${options.colors[c.status] ?? '#cbd5e0'}"><title>${escapeHtml(`${c.hour.toISOString().slice(0, 13)}: ${c.status}`)}</title></rect>`);
  }
  Object.entries(options.colors).forEach(([status, color], i) => {
    const x = left + i * 110;
    const y = top + days.length * cell + 24;
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${x + 16}" y="${y}" font-size="11">${escapeHtml(status)}</text>`);
  });
  return svg(width, height, options.title, parts);
}

function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

