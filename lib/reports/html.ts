/**
 * The small HTML kit the reports are written with: every value goes through escapeHtml (host
 * names, tags, rule descriptions and raw keys come from configuration and traffic, so they are
 * untrusted), charts are inline SVG, and the page carries a Content-Security-Policy that forbids
 * every network fetch and every script.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export type Cell = string | number | bigint | boolean | null | undefined | Date | { html: string };

export function cellText(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z');
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  if (typeof value === 'bigint') return Number(value).toLocaleString('en-US');
  if (typeof value === 'object') return value.html;
  return String(value);
}

export function table(headers: string[], rows: Cell[][], options: { numeric?: number[]; empty?: string; id?: string } = {}): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(options.empty ?? 'none')}</p>`;
  const numeric = new Set(options.numeric ?? []);
  const cell = (value: Cell, index: number, tag: 'td' | 'th') => {
    const inner = typeof value === 'object' && value !== null && 'html' in value ? value.html : escapeHtml(cellText(value));
    return `<${tag}${numeric.has(index) ? ' class="num"' : ''}>${inner}</${tag}>`;
  };
  return `<table${options.id ? ` id="${escapeHtml(options.id)}"` : ''}><thead><tr>${headers.map((h, i) => cell(h, i, 'th')).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((value, i) => cell(value, i, 'td')).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info'): { html: string } {
  return { html: `<span class="badge ${tone}">${escapeHtml(text)}</span>` };
}

export function page(options: { title: string; subtitle: string; body: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1><p class="subtitle">${escapeHtml(options.subtitle)}</p></header>
<main>
${options.body}
</main>
<footer>netflow-lake · generated without network access; every number is reproducible from the input partitions listed in the manifest section.</footer>
</body>
</html>
`;
}

/** A statement for the top of the first page (an empty or partly missing period). */
export function banner(id: string, text: string, tone: 'warn' | 'bad'): string {
  return `<div class="banner ${tone}" id="${escapeHtml(id)}" role="alert">${escapeHtml(text)}</div>`;
}

export function section(id: string, title: string, body: string, intro?: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>${intro ? `<p class="intro">${escapeHtml(intro)}</p>` : ''}${body}</section>`;
}

export function stats(items: { label: string; value: Cell; tone?: 'ok' | 'warn' | 'bad' | 'info'; id?: string }[]): string {
  return `<div class="stats">${items
    .map((item) => `<div class="stat ${item.tone ?? ''}"${item.id ? ` id="${escapeHtml(item.id)}"` : ''}><div class="value">${escapeHtml(cellText(item.value))}</div><div class="label">${escapeHtml(item.label)}</div></div>`)
    .join('')}</div>`;
}

const CSS = `
:root { --ink: #1d2430; --muted: #5b6678; --line: #d8dee8; --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --info: #2b6cb0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; }
header { padding: 24px 32px 12px; border-bottom: 3px solid var(--ink); }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.subtitle, .intro, footer, .empty { color: var(--muted); }
main { padding: 0 32px 24px; }
footer { padding: 12px 32px 24px; font-size: 12px; border-top: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
/* Words wrap between words; only what has no break at all (hashes, object keys) may break anywhere, so a narrow column never shows "mediu m". */
td { overflow-wrap: break-word; word-break: normal; hyphens: none; }
td code, td .key { overflow-wrap: anywhere; }
.banner { border: 2px solid var(--bad); border-left-width: 8px; background: #fff5f5; padding: 10px 14px; margin: 16px 0 0; font-weight: 600; }
.banner.warn { border-color: var(--warn); background: #fffaf0; }
th { background: #f3f5f9; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.stat { border: 1px solid var(--line); border-left: 5px solid var(--info); padding: 8px 14px; min-width: 130px; }
.stat.ok { border-left-color: var(--ok); } .stat.warn { border-left-color: var(--warn); } .stat.bad { border-left-color: var(--bad); }
.stat .value { font-size: 22px; font-weight: 700; }
.stat .label { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; white-space: nowrap; padding: 0 6px; border-radius: 3px; font-size: 11.5px; font-weight: 600; color: #fff; }
.badge.ok { background: var(--ok); } .badge.warn { background: var(--warn); } .badge.bad { background: var(--bad); } .badge.info { background: var(--info); }
svg { max-width: 100%; height: auto; display: block; margin: 8px 0 16px; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: 10px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
code { font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { font-size: 11px; }
  header, main, footer { padding-left: 0; padding-right: 0; }
  section { break-inside: auto; }
  h2 { break-after: avoid; }
  table, svg, .stats { break-inside: avoid; }
  tr { break-inside: avoid; }
  pre { white-space: pre-wrap; }
}
`;
