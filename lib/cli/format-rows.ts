/** Renders query results for people (an aligned table) or programs (CSV, NDJSON). */
export type OutputFormat = 'table' | 'csv' | 'json';

export function formatRows(rows: Record<string, unknown>[], columns: string[], format: OutputFormat): string {
  switch (format) {
    case 'json':
      return rows.map((row) => JSON.stringify(row, jsonValue)).join('\n') + (rows.length ? '\n' : '');
    case 'csv':
      return [columns.map(csvCell).join(','), ...rows.map((row) => columns.map((col) => csvCell(text(row[col]))).join(','))].join('\n') + '\n';
    case 'table':
      return table(rows, columns);
  }
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  if (Array.isArray(value)) return `[${value.map(text).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value, jsonValue);
  return String(value);
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value;
}

/** CSV per RFC 4180; a cell that a spreadsheet would run as a formula is prefixed with a quote. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((col) => (row[col] === null ? 'NULL' : text(row[col]))));
  const widths = columns.map((col, index) => Math.min(60, Math.max(col.length, ...cells.map((cell) => cell[index]!.length))));
  const line = (values: string[]) => values.map((value, index) => (value.length > widths[index]! ? `${value.slice(0, widths[index]! - 1)}…` : value.padEnd(widths[index]!))).join(' │ ');
  const rule = widths.map((width) => '─'.repeat(width)).join('─┼─');
  return [line(columns), rule, ...cells.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
