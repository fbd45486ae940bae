/**
 * The first Markdown table after a heading, as rows keyed by its header cells (cell text with
 * backticks removed). Lets a test check the figures a document promises, so the two cannot drift.
 */
export function markdownTableAfter(markdown: string, heading: string): Record<string, string>[] {
  const lines = markdown.split('\n');
  const at = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, '').trim() === heading);
  if (at < 0) throw new Error(`no heading "${heading}"`);
  const first = lines.findIndex((line, index) => index > at && line.startsWith('|'));
  if (first < 0) throw new Error(`no table after the heading "${heading}"`);
  const cells = (line: string) =>
    line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((cell) => cell.trim().replace(/`/g, ''));
  const header = cells(lines[first]!);
  const rows: Record<string, string>[] = [];
  for (let index = first + 2; index < lines.length && lines[index]!.startsWith('|'); index++) {
    const row = cells(lines[index]!);
    if (row.length !== header.length) throw new Error(`table after "${heading}": line ${index + 1} has ${row.length} cells, the header ${header.length}`);
    rows.push(Object.fromEntries(header.map((name, column) => [name, row[column]!])));
  }
  return rows;
}
