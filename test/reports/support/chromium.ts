import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { onPath, requireTool } from '../../support/require-tool.ts';

const run = promisify(execFile);

/** Debian's chromium (installed by .ci/run); never a downloaded browser. */
export const CHROMIUM = process.env.NETFLOW_CHROMIUM ?? '/usr/bin/chromium';
/** Guards the tests that render in Chromium. */
export const chromium = requireTool('Chromium', 'apt-get install -y chromium fonts-dejavu-core (or set NETFLOW_CHROMIUM)', () => onPath(CHROMIUM));

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions', '--hide-scrollbars'];

/** Renders a local HTML file: the DOM after load (scripts would have run) and a PNG screenshot. */
export async function renderInChromium(file: string, size = { width: 1280, height: 2400 }): Promise<{ dom: string; png: Buffer }> {
  const profile = await mkdtemp(path.join(tmpdir(), 'netflow-chromium-'));
  try {
    const url = pathToFileURL(file).href;
    const common = [...FLAGS, `--user-data-dir=${profile}`, `--window-size=${size.width},${size.height}`];
    const { stdout: dom } = await run(CHROMIUM, [...common, '--dump-dom', url], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    const shot = path.join(profile, 'shot.png');
    await run(CHROMIUM, [...common, `--screenshot=${shot}`, url], { timeout: 60_000 });
    return { dom, png: await readFile(shot) };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Prints a local HTML file to PDF as a person would (print CSS applies), without header or footer. */
export async function printToPdf(file: string): Promise<Buffer> {
  const profile = await mkdtemp(path.join(tmpdir(), 'netflow-chromium-'));
  try {
    const pdf = path.join(profile, 'print.pdf');
    await run(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, '--no-pdf-header-footer', `--print-to-pdf=${pdf}`, pathToFileURL(file).href], { timeout: 60_000 });
    return await readFile(pdf);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to its pixels. */
export function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (color !== 2 && color !== 6)) throw new Error(`unsupported PNG: depth ${depth}, color ${color}, interlace ${interlace}`);
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels]! : 0;
      const predictor = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      pixels[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** How much is drawn: the share of pixels that are not the page background, the distinct colours, the luminance variance. */
export function inkStats(png: Buffer): { width: number; height: number; inked: number; colors: number; variance: number } {
  const { width, height, channels, pixels } = decodePng(png);
  let inked = 0;
  let sum = 0;
  let sumSq = 0;
  const colors = new Set<number>();
  const n = width * height;
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [pixels[i * channels]!, pixels[i * channels + 1]!, pixels[i * channels + 2]!];
    if (r < 245 || g < 245 || b < 245) inked++;
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += luminance;
    sumSq += luminance * luminance;
    if (colors.size < 10_000) colors.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { width, height, inked: inked / n, colors: colors.size, variance: sumSq / n - mean * mean };
}

/** The visible text of a dumped DOM: tags removed, entities decoded, whitespace collapsed. */
export function visibleText(dom: string): string {
  return dom
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<title>[\s\S]*?<\/title>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&')
    .replace(/\s+/g, ' ');
}

/** Screenshots of rendered reports, kept for a person to look at after a run (gitignored). */
export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'reports');

export interface LayoutCheck {
  /** Letters or digits of one word in a table cell laid out on two lines ("mediu m"); code (hashes, keys) may wrap anywhere and is not counted. */
  brokenWords: { cell: string; word: string }[];
  /** Per chart with a y axis: its tick labels, top to bottom. */
  axes: { chart: string; ticks: string[] }[];
  cells: number;
}

/**
 * Lays a report out in headless Chromium at `width` and measures it: a copy of the page, without
 * its Content-Security-Policy and with a measuring script appended (the report itself has no
 * script), is loaded and its DOM dumped with the measurements; the report itself is screenshotted
 * to ARTIFACTS_DIR/<name>.png.
 */
export async function checkLayout(file: string, name: string, width = 1100): Promise<LayoutCheck & { dom: string; png: Buffer }> {
  const html = await readFile(file, 'utf8');
  const probe = path.join(path.dirname(file), `${path.basename(file, '.html')}.layout-probe.html`);
  await writeFile(probe, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `<script>${MEASURE}</script></body>`));
  const measured = await renderInChromium(probe, { width, height: 2400 });
  const json = /<pre id="layout-check">([^<]*)<\/pre>/.exec(measured.dom)?.[1];
  if (!json) throw new Error(`the layout probe of ${file} wrote nothing`);
  const shot = await renderInChromium(file, { width, height: 2400 });
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await writeFile(path.join(ARTIFACTS_DIR, `${name}.png`), shot.png);
  const unescape = (text: string) => text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return { ...(JSON.parse(unescape(json)) as LayoutCheck), dom: shot.dom, png: shot.png };
}

const MEASURE = `
(() => {
  const brokenWords = [];
  let cells = 0;
  for (const cell of document.querySelectorAll('td, th')) {
    cells++;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('code, .key')) continue;
      for (const match of node.data.matchAll(/[A-Za-z0-9]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) brokenWords.push({ cell: cell.textContent.slice(0, 60), word: match[0] });
      }
    }
  }
  const axes = [...document.querySelectorAll('svg')].filter((svg) => svg.querySelector('.y-tick')).map((svg) => ({
    chart: svg.getAttribute('aria-label'),
    ticks: [...svg.querySelectorAll('.y-tick')].sort((a, b) => a.getBBox().y - b.getBBox().y).map((t) => t.textContent),
  }));
  const pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify({ brokenWords, axes, cells });
  document.body.appendChild(pre);
})();
`;
