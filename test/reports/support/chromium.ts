import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
