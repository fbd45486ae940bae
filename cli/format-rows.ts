import { csvCell, jsonValue, ndjsonLines } from '../lib/format/text-cells.ts';

export { csvCell };

/** Renders query results for people (an aligned table) or programs (CSV, NDJSON). */
export type OutputFormat = 'table' | 'csv' | 'json';

export function formatRows(rows: Record<string, unknown>[], columns: string[], format: OutputFormat): string {
  switch (format) {
    case 'json':
      return ndjsonLines(rows);
    case 'csv':
      return [columns.map(csvCell).join(','), ...rows.map((row) => columns.map((col) => csvCell(text(row[col]))).join(','))].join('\n') + '\n';
    case 'table':
      return table(rows, columns);
  }
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/\.000Z$|Z$/, '');
  if (Array.isArray(value)) return `[${value.map(text).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value, jsonValue);
  return String(value);
}

/**
 * Control characters made visible for the terminal: raw log lines (quarantine.raw_text) and
 * names from inventories are untrusted, and an ESC sequence in them would drive the terminal
 * (retitle it, rewrite earlier lines, or on some terminals inject input).
 */
export function terminalSafe(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => {
    const code = char.charCodeAt(0);
    if (char === '\n') return '\\n';
    if (char === '\t') return '\\t';
    if (char === '\r') return '\\r';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function table(rows: Record<string, unknown>[], keys: string[]): string {
  const columns = keys.map(terminalSafe);
  const cells = rows.map((row) => keys.map((col) => (row[col] === null ? 'NULL' : terminalSafe(text(row[col])))));
  const widths = columns.map((col, index) => Math.min(60, Math.max(col.length, ...cells.map((cell) => cell[index]!.length))));
  const line = (values: string[]) => values.map((value, index) => (value.length > widths[index]! ? `${value.slice(0, widths[index]! - 1)}…` : value.padEnd(widths[index]!))).join(' │ ');
  const rule = widths.map((width) => '─'.repeat(width)).join('─┼─');
  return [line(columns), rule, ...cells.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
