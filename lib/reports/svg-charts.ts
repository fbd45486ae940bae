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
  width?: number;
  height?: number;
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 280;
  const margin = { top: 28, right: 190, bottom: 36, left: 64 };
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [...options.series.flatMap((s) => s.points.map((p) => p.y)), ...(options.thresholds ?? []).map((t) => t.y)];
  if (xs.length === 0) return `<p class="empty">${escapeHtml(options.title)}: no data</p>`;
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const yMin = options.yMin ?? 0;
  const yMax = options.yMax ?? niceMax(Math.max(...ys, yMin + 1e-9));
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [];
  parts.push(`<text x="${margin.left}" y="16" font-size="13" font-weight="600">${escapeHtml(options.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e2e8f0"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${(sy(y) + 4).toFixed(1)}" font-size="11" text-anchor="end">${escapeHtml(options.yFormat(y))}</text>`);
  }
  const ticks = Math.min(8, new Set(xs).size);
  for (let i = 0; i < ticks; i++) {
    const x = ticks === 1 ? xMin : xMin + ((xMax - xMin) * i) / (ticks - 1);
    parts.push(`<text x="${sx(x).toFixed(1)}" y="${height - 14}" font-size="11" text-anchor="middle">${escapeHtml(options.xFormat(x))}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#1d2430"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#1d2430"/>`);
  for (const threshold of options.thresholds ?? []) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${sy(threshold.y).toFixed(1)}" y2="${sy(threshold.y).toFixed(1)}" stroke="${threshold.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    parts.push(`<text x="${margin.left + plotW - 4}" y="${(sy(threshold.y) - 4).toFixed(1)}" font-size="11" text-anchor="end" fill="${threshold.color}">${escapeHtml(threshold.label)}</text>`);
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
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join('')}</svg>`;
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
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join('')}</svg>`;
}

function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
