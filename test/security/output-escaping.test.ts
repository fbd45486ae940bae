import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, formatRows, terminalSafe } from '../../cli/format-rows.ts';
import { escapeHtml, table } from '../../lib/reports/html.ts';
import { toCsv } from '../../lib/reports/report-csv.ts';
import { lineChart } from '../../lib/reports/svg-charts.ts';
import { count, suiteSeed } from '../reliability/support/reliability-run.ts';

/**
 * Issue 8, security: values that reach people come from traffic and configuration (host names,
 * tags, raw lines in quarantine), so they are escaped for every medium: CSV cells that a
 * spreadsheet would run as formulas, HTML and SVG in reports, and control characters on a
 * terminal. Properties over generated strings, plus the classic payloads by name.
 */
const seed = suiteSeed();
const runs = count(20_000, 2_000);
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 reader, independent of the writer under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

const hostile = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '=HYPERLINK("http://x","y")',
    '+cmd|/C calc!A0',
    '-2+3',
    '@SUM(A1)',
    '\t=1',
    '\r=1',
    '=1\n=2',
    '"=1"',
    "'=1",
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='x",
    '&lt;',
    ']]><svg onload=alert(1)>',
    '\u001b]0;pwned\u0007',
    '\u001b[2J',
    '\u202eexe.txt',
    'a\u0000b',
  ),
  fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
);

describe('CSV: no cell runs as a formula, every value survives', () => {
  it('csvCell, cell by cell', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const [[cell]] = parseCsv(`${csvCell(value)}\n`) as [[string]];
        expect(FORMULA_START.test(cell)).toBe(false);
        expect(cell).toBe(FORMULA_START.test(value) ? `'${value}` : value);
      }),
      { numRuns: runs, seed },
    );
  });

  it('whole query results and report sections keep their shape', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, hostile), { maxLength: 8 }), (pairs) => {
        const rows = pairs.map(([a, b]) => ({ host: a, tag: b }));
        for (const text of [formatRows(rows, ['host', 'tag'], 'csv'), toCsv(rows, ['host', 'tag'])]) {
          const parsed = parseCsv(text);
          expect(parsed.length).toBe(rows.length + 1);
          for (const line of parsed) {
            expect(line.length).toBe(2);
            for (const cell of line) expect(FORMULA_START.test(cell)).toBe(false);
          }
        }
      }),
      { numRuns: Math.ceil(runs / 4), seed },
    );
  });
});

describe('terminal: control characters are shown, never sent', () => {
  it('the table format escapes C0, C1, DEL and bidi overrides', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 6 }), (values) => {
        const out = formatRows(
          values.map((v) => ({ raw_text: v })),
          ['raw_text'],
          'table',
        );
        const body = out.replaceAll('\n', '');
        expect(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(body)).toBe(false);
        expect(out.split('\n').length).toBe(values.length + 4);
      }),
      { numRuns: Math.ceil(runs / 4), seed },
    );
    expect(terminalSafe('\u001b]0;pwned\u0007')).toBe('\\x1b]0;pwned\\x07');
  });
});

describe('HTML and SVG in reports: values never become markup', () => {
  const decode = (html: string) => html.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');

  it('escapeHtml leaves no markup character and loses nothing', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const escaped = escapeHtml(value);
        expect(/[<>"']/.test(escaped)).toBe(false);
        expect(/&(?!(lt|gt|quot|#39|amp);)/.test(escaped)).toBe(false);
        expect(decode(escaped)).toBe(value);
      }),
      { numRuns: runs, seed },
    );
  });

  it('a table or chart built from hostile names has exactly the markup of one built from plain names', () => {
    const tags = (html: string) => (html.match(/<\/?[a-zA-Z][^>]*>/g) ?? []).map((tag) => tag.replace(/"[^"]*"/g, '""'));
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, hostile), { minLength: 1, maxLength: 5 }), hostile, (rows, title) => {
        const plain = rows.map(() => ['x', 'y']);
        expect(tags(table(['host', 'tag'], rows))).toEqual(tags(table(['host', 'tag'], plain)));
        const chart = (name: string, label: string) =>
          lineChart({
            title: label,
            series: [
              {
                name,
                points: [
                  { x: 0, y: 1 },
                  { x: 1, y: 2 },
                ],
              },
            ],
            thresholds: [{ y: 1.5, label, color: '#c00' }],
            xFormat: () => label,
            yFormat: (y: number) => String(y),
          });
        expect(tags(chart(rows[0]![0], title))).toEqual(tags(chart('x', 'x')));
      }),
      { numRuns: Math.ceil(runs / 10), seed },
    );
  });
});
