import { isUtf8 } from 'node:buffer';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { FIELD_SEPARATOR, ObjectUnreadableError, type RejectedLine, type StagedLines, type StageLimits } from './stage-lines.ts';

const gunzipAsync = promisify(gunzip);

/**
 * Stages one JSON document that holds a `records` array (Azure NSG and VNet flow log blobs,
 * `PT1H.json`) as a line file of the same shape as stageLines writes: every record becomes
 * `<record index>\x1f<record as compact JSON>\n`, with the record's 1-based index in the
 * document in place of a line number. The normalize model unnests the tuples of each record.
 *
 * A document that is cut off, is not JSON, is not UTF-8 or has no `records` array cannot be
 * read at all and is quarantined whole, with the line where it broke; a record larger than the
 * line limit is quarantined alone.
 */
export const DEFAULT_MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

/**
 * A tuple's raw_offset is `record index * RECORD_OFFSET_FACTOR + tuple index` (both 1-based); a
 * record refused whole has tuple index 0. A staged record is at most 1 MiB, so it never holds a
 * million tuples.
 */
export const RECORD_OFFSET_FACTOR = 1_000_000;

export async function stageJsonRecords(inputPath: string, outputPath: string, limits: StageLimits, maxDocumentBytes = DEFAULT_MAX_DOCUMENT_BYTES): Promise<StagedLines> {
  // The document is parsed whole, so the file is read whole: refuse one that is larger than any
  // document may be before reading it (a multi-GiB object would otherwise exhaust memory, or fail
  // the whole run with ERR_FS_FILE_TOO_LARGE past 2 GiB instead of being quarantined).
  const { size } = await stat(inputPath);
  if (size > maxDocumentBytes) throw new ObjectUnreadableError(`object is ${size} bytes, longer than the limit of ${maxDocumentBytes} for a JSON document`);
  let raw = await readFile(inputPath);
  const bytesIn = raw.length;
  const compressed = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (compressed) {
    try {
      raw = await gunzipAsync(raw, { maxOutputLength: Math.min(maxDocumentBytes, limits.maxDecompressedBytes) + 1 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new ObjectUnreadableError(`decompressed size exceeds the limit of ${maxDocumentBytes} bytes for a JSON document`);
      throw new ObjectUnreadableError(`gzip stream is corrupt or truncated (${(error as Error).message})`, { cause: error });
    }
  }
  if (raw.length > maxDocumentBytes) throw new ObjectUnreadableError(`JSON document is ${raw.length} bytes, longer than the limit of ${maxDocumentBytes}`);
  if (raw.length === 0) return emptyResult(bytesIn, compressed);
  if (!isUtf8(raw)) {
    throw new ObjectUnreadableError(`line ${firstInvalidUtf8Line(raw)} holds bytes that are not valid UTF-8`);
  }
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return emptyResult(bytesIn, compressed);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ObjectUnreadableError(describeJsonError(text, error as Error));
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document) || !Array.isArray((document as { records?: unknown }).records)) {
    throw new ObjectUnreadableError('not a flow log document: expected a JSON object with a "records" array');
  }
  const records = (document as { records: unknown[] }).records;
  const rejected: RejectedLine[] = [];
  const parts: string[] = [];
  let stagedLines = 0;
  records.forEach((record, index) => {
    const json = JSON.stringify(record) ?? 'null';
    const recordNo = index + 1;
    const bytes = Buffer.byteLength(json);
    if (bytes > limits.maxLineBytes) {
      rejected.push({ line: recordNo * RECORD_OFFSET_FACTOR, reason: `record ${recordNo} is ${bytes} bytes, longer than the limit of ${limits.maxLineBytes}`, text: json.slice(0, 4096) });
      return;
    }
    // JSON.stringify escapes every control character, so 0x1f and newlines cannot occur in `json`.
    parts.push(`${recordNo}${String.fromCharCode(FIELD_SEPARATOR)}${json}\n`);
    stagedLines++;
  });
  const output = parts.join('');
  await writeFile(outputPath, output);
  return { lines: records.length, stagedLines, blankLines: 0, rejected, compressed, bytesIn, bytesOut: Buffer.byteLength(output) };
}

function emptyResult(bytesIn: number, compressed: boolean): StagedLines {
  return { lines: 0, stagedLines: 0, blankLines: 0, rejected: [], compressed, bytesIn, bytesOut: 0 };
}

/** V8's messages differ between Node versions; both forms name a position, or the end of the input. */
function describeJsonError(text: string, error: Error): string {
  const lines = text.split('\n').length;
  const position = /position (\d+)/.exec(error.message);
  if (position) {
    const at = Number(position[1]);
    const where = at >= text.trimEnd().length ? 'is cut off' : 'is not valid JSON';
    return `JSON document ${where} at line ${lineAtText(text, at)}: ${error.message}`;
  }
  if (/end of JSON input|Unterminated|Unexpected end/i.test(error.message)) return `JSON document is cut off at line ${lines}: ${error.message}`;
  return `JSON document is not valid JSON: ${error.message}`;
}

function lineAtText(text: string, at: number): number {
  let line = 1;
  for (let index = 0; index < at && index < text.length; index++) if (text.charCodeAt(index) === 10) line++;
  return line;
}

/** The 1-based line holding the first byte sequence that is not UTF-8 (lines are checked one by one). */
function firstInvalidUtf8Line(buffer: Buffer): number {
  let line = 1;
  let start = 0;
  while (start <= buffer.length) {
    const newline = buffer.indexOf(10, start);
    const end = newline < 0 ? buffer.length : newline;
    if (!isUtf8(buffer.subarray(start, end))) return line;
    if (newline < 0) break;
    start = newline + 1;
    line++;
  }
  return line;
}

/** Whether a file starts and ends with Parquet's magic bytes `PAR1`. */
export async function hasParquetMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 12) return false;
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    await handle.read(tail, 0, 4, size - 4);
    return head.toString('latin1') === 'PAR1' && tail.toString('latin1') === 'PAR1';
  } finally {
    await handle.close();
  }
}
