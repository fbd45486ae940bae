/**
 * Text formats shared by the CLI's output and the reports' files: CSV cells and NDJSON lines.
 * Low in lib/ so that both may use it (the reports must not reach up into cli/).
 */

/** CSV per RFC 4180; a cell that a spreadsheet would run as a formula is prefixed with a quote. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** JSON.stringify's replacer for DuckDB's BIGINTs: a number where exact, else its decimal text. */
export function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value;
}

/** One JSON object per line, each line ended; nothing at all for no rows. */
export function ndjsonLines(rows: readonly unknown[]): string {
  return rows.map((row) => JSON.stringify(row, jsonValue)).join('\n') + (rows.length ? '\n' : '');
}
