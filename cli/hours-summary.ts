/** One outcome of a command over many hours: how many, and why when it is not plain success. */
export interface HoursSummaryRow {
  count: number;
  label: string;
  reason?: string;
  /** Shown even when the count is 0 (the outcomes a reader always looks for). */
  always?: boolean;
}

/**
 * The end of `backfill` and `analytics`: one line of counts per outcome (skips with their reason),
 * then only the hours that need attention (failed, stopped, cold start), not one line per hour.
 */
export function formatHoursSummary(title: string, total: number, rows: readonly HoursSummaryRow[], attention: readonly string[]): string {
  const counts = rows.filter((row) => row.always || row.count > 0).map((row) => `${row.count} ${row.label}${row.reason ? ` (${row.reason})` : ''}`);
  const lines = [`${title}: ${total} hour(s): ${counts.join(', ')}`];
  if (attention.length > 0) lines.push('needs attention:', ...attention.map((line) => `  ${line}`));
  return `${lines.join('\n')}\n`;
}
