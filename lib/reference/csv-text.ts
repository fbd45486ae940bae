/**
 * A small RFC 4180 reader for reference files: quoted fields, doubled quotes, CRLF, and the line
 * on which each record starts (for error messages). No dependency: reference CSVs are small
 * enough to read whole, and a parser we own reports the line of an unterminated quote.
 */
export interface CsvRecord {
  /** 1-based line of the record's first character. */
  line: number;
  fields: string[];
}

export interface CsvTable {
  header: string[];
  records: CsvRecord[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvSyntaxError';
  }
}

export function parseCsvText(text: string, delimiter = ','): CsvTable {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let fieldStart = true;
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const endRecord = () => {
    fields.push(field);
    // A line holding nothing at all is skipped; a line of empty fields is a record.
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    fieldStart = true;
  };
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (quoted) {
      if (char === '"') {
        if (body[index + 1] === '"') {
          field += '"';
          index++;
        } else {
          quoted = false;
        }
      } else {
        if (char === '\n') line++;
        field += char;
      }
      continue;
    }
    if (char === '"' && fieldStart) {
      quoted = true;
      quoteLine = line;
      fieldStart = false;
    } else if (char === delimiter) {
      fields.push(field);
      field = '';
      fieldStart = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && body[index + 1] === '\n') index++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += char;
      fieldStart = false;
    }
  }
  if (quoted) throw new CsvSyntaxError(quoteLine, 'a quoted field is never closed');
  if (field !== '' || fields.length > 0) endRecord();
  const [head, ...rest] = records;
  if (!head) return { header: [], records: [] };
  return { header: head.fields.map((name) => name.trim()), records: rest };
}

/** Splits a multi-valued CSV cell (`a;b;c`, spaces allowed) into its values. */
export function splitList(cell: string | undefined): string[] {
  return (cell ?? '')
    .split(/[;|]/)
    .map((value) => value.trim())
    .filter(Boolean);
}
