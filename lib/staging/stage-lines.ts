import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { finished, pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteBuffer } from './byte-buffer.ts';
import { ParquetWriter, type ParquetColumn } from './parquet-writer.ts';
import { readRawObject, type RawObjectRead } from './read-raw-object.ts';
import { DEFAULT_STAGE_LIMITS, ObjectUnreadableError, type StageLimits } from './stage-limits.ts';

// Their home is stage-limits.ts (below read-raw-object.ts, which needs them too); kept importable from here.
export { DEFAULT_STAGE_LIMITS, ObjectUnreadableError, stageLimitsOf, type StageLimits } from './stage-limits.ts';

/**
 * Turns one raw object (plain or gzip text) into a staged line file that DuckDB reads with
 * `read_csv`: every record line becomes `<line number>\x1f<line>\n`. DuckDB cannot tell a CSV
 * row's line number, and lineage needs it; decompressing here also lets us verify the gzip
 * stream end to end (DuckDB reads a truncated gzip as a short file without complaint) and
 * enforce size limits on untrusted input before any parser sees it.
 */
export const FIELD_SEPARATOR = 0x1f;

/**
 * Types a source's plain records while they are staged (lib/sources/registry.ts): what a source
 * does faster in Node than its model does in SQL while the line is in hand. A typed record goes
 * to the object's typed file (`<n>.typed.parquet`, lib/staging/parquet-writer.ts, read as the
 * source's `stg_typed__<source>`) instead of the lines file; any other record is staged as text
 * for the model. Called once per line, in order, for the object's first staged line and every
 * line after it that is not blank, too long or invalid UTF-8: past the first, before the
 * stager's checks for NUL, 0x1f and carriage return bytes, so it also sees lines the stager then
 * rejects.
 */
export interface LineTyper {
  /** The typed file's columns, the same for every object of the source: `line_no` (BIGINT, the stager's) first. */
  readonly columns: readonly ParquetColumn[];
  /**
   * Sets the record's values in `row` (columns by index in `columns`; one not set is NULL) and
   * returns true, or returns false to stage the line as text. Must return false for a line
   * holding any byte below 0x20: a typed line skips the stager's own checks. The row may hold
   * values set before a false: they are discarded.
   */
  typeLine(line: Buffer, from: number, to: number, row: TypedRow): boolean;
}

/** Where a typer sets a row's values (ParquetWriter): straight from the line's bytes. */
export interface TypedRow {
  /** `values[index]`, an integer within ±2^53, for an INTEGER or BIGINT column (a typed array: see ParquetWriter). */
  setInteger(column: number, values: Float64Array, index: number): void;
  setBoolean(column: number, value: boolean): void;
  /** A VARCHAR value: bytes of valid UTF-8. */
  setBytes(column: number, source: Uint8Array, from: number, to: number): void;
}

/** The typed file beside a staged lines file. */
export function typedPathOf(linesPath: string): string {
  return linesPath.endsWith('.txt') ? `${linesPath.slice(0, -'.txt'.length)}.typed.parquet` : `${linesPath}.typed.parquet`;
}

export interface RejectedLine {
  line: number;
  reason: string;
  /** The raw text (decoded leniently, cut to 4 KiB for oversized lines). */
  text: string;
}

export interface StagedLines {
  /** Lines in the object, including blank lines and a trailing line without newline. */
  lines: number;
  /** Records staged: lines written to the staged file for the parser, and typed rows. */
  stagedLines: number;
  /** Of those, the records typed while staging (LineTyper), in the typed file. */
  typedLines?: number;
  blankLines: number;
  rejected: RejectedLine[];
  compressed: boolean;
  bytesIn: number;
  bytesOut: number;
}

const REJECTED_TEXT_LIMIT = 4096;

/**
 * Removes what a failed staging wrote, then throws its failure. A file that cannot be removed (a
 * folder in the way) is added to the failure's message: the removal's own error must not stand
 * in for the reason the object failed, which decides how it is quarantined.
 */
export async function discardPartialFiles(paths: readonly string[], failure: unknown): Promise<never> {
  const kept: string[] = [];
  for (const file of paths) {
    try {
      await rm(file, { force: true });
    } catch (error) {
      kept.push(`${file}: ${(error as Error).message}`);
    }
  }
  if (kept.length > 0 && failure instanceof Error) failure.message += ` (and its partial output could not be removed: ${kept.join('; ')})`;
  throw failure;
}

export async function stageLines(inputPath: string, outputPath: string, limits: StageLimits = DEFAULT_STAGE_LIMITS, typer?: LineTyper): Promise<StagedLines> {
  const typedOutput = typer ? createWriteStream(typedPathOf(outputPath), { highWaterMark: 1 << 20 }) : undefined;
  const splitter = new LineStager(limits, typer && typedOutput ? { typer, output: typedOutput } : undefined);
  const output = createWriteStream(outputPath, { highWaterMark: 1 << 20 });
  // The file opens while the raw object's header is read, before pipeline() below listens: an
  // error opening it (a folder in the way) would be an uncaught exception. pipeline() still rejects with it.
  output.on('error', () => {});
  let read: RawObjectRead;
  try {
    // The raw object's bytes, decompressed and verified within the limits (read-raw-object.ts),
    // pulled through the line stager into the staged file with backpressure end to end.
    read = await readRawObject(inputPath, limits, (chunks) => pipeline(chunks, splitter, output));
  } catch (error) {
    output.destroy();
    typedOutput?.destroy();
    return discardPartialFiles(typedOutput ? [outputPath, typedPathOf(outputPath)] : [outputPath], error);
  }
  return {
    lines: splitter.lineNo,
    stagedLines: splitter.stagedLines,
    typedLines: splitter.typedLines,
    blankLines: splitter.blankLines,
    rejected: splitter.rejected,
    compressed: read.compressed,
    bytesIn: read.bytesIn,
    bytesOut: splitter.bytesOut,
  };
}

class LineStager extends Transform {
  lineNo = 0;
  stagedLines = 0;
  typedLines = 0;
  blankLines = 0;
  bytesOut = 0;
  readonly rejected: RejectedLine[] = [];
  private carry: Buffer[] = [];
  private carryLength = 0;
  private oversized = false;
  /** The typed rows, a row group at a time (typed staging only), and the row groups the chunk in hand filled. */
  private readonly rows: ParquetWriter | undefined;
  private filledRowGroups: Uint8Array[] = [];
  private readonly lineNoValue = new Float64Array(1);
  /**
   * The typed file is written here, outside the pipeline: its error (it may come before the
   * pipeline is set up, while the raw object's header is read) is kept and fails the next step,
   * or the step waiting for it to drain.
   */
  private typedError: Error | undefined;
  private waitingForDrain: ((error?: Error | null) => void) | undefined;

  constructor(
    private readonly limits: StageLimits,
    private readonly typed?: { typer: LineTyper; output: WriteStream },
  ) {
    super();
    this.rows = typed ? new ParquetWriter(typed.typer.columns) : undefined;
    typed?.output.on('error', (error) => {
      this.typedError ??= error;
      this.resumeAfterDrain(error);
    });
  }

  private resumeAfterDrain(error?: Error): void {
    const waiting = this.waitingForDrain;
    this.waitingForDrain = undefined;
    waiting?.(error);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.typedError) {
      callback(this.typedError);
      return;
    }
    try {
      this.stageChunk(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.writeRows(callback);
  }

  /** The row groups the chunk filled to the typed file, waiting for it to drain (backpressure, as for the lines). */
  private writeRows(callback: (error?: Error | null) => void): void {
    const groups = this.filledRowGroups;
    this.filledRowGroups = [];
    if (this.typedError) {
      callback(this.typedError);
      return;
    }
    let drained = true;
    for (const group of groups) {
      this.bytesOut += group.length;
      drained = this.typed!.output.write(group);
    }
    if (drained) {
      callback();
      return;
    }
    this.waitingForDrain = callback;
    this.typed!.output.once('drain', () => this.resumeAfterDrain());
  }

  private stageChunk(chunk: Buffer): void {
    // Room for typical lines with their prefix (the buffer grows for short lines). An
    // oversized line in carry is refused, never written, so it needs no room
    // (it can be 1 GiB).
    const out = new ByteBuffer((this.oversized ? 0 : this.carryLength) + Math.ceil(chunk.length * 1.5) + 4096);
    let start = 0;
    let newline = chunk.indexOf(10, start);
    if (newline >= 0 && this.carryLength > 0) {
      // Finish the line that began in an earlier chunk.
      const head = chunk.subarray(0, newline);
      // An oversized line keeps only its first 4 KiB (in carry) for the quarantine record.
      const line = this.oversized ? this.carry[0]! : Buffer.concat([...this.carry, head]);
      this.emitLine(line, 0, line.length, this.carryLength + head.length, out, false);
      this.carry = [];
      this.carryLength = 0;
      this.oversized = false;
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    // Lines wholly inside this chunk: check UTF-8 once for the span, per line only if it fails.
    const lastNewline = chunk.lastIndexOf(10);
    const spanValid = lastNewline >= start ? isUtf8(chunk.subarray(start, lastNewline)) : true;
    while (newline >= 0) {
      this.emitLine(chunk, start, newline, newline - start, out, spanValid);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.keepPartial(chunk.subarray(start));
    this.pushOut(out);
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.carryLength > 0) {
        const out = new ByteBuffer((this.oversized ? 0 : this.carryLength) + 64);
        const line = this.oversized ? this.carry[0]! : Buffer.concat(this.carry);
        this.emitLine(line, 0, line.length, this.carryLength, out, false);
        this.pushOut(out);
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    const typedOutput = this.typed?.output;
    if (!typedOutput) {
      callback();
      return;
    }
    // The last row group and the footer (nothing when no row was typed: the file stays empty).
    this.filledRowGroups.push(...this.rows!.finish());
    this.writeRows((error) => {
      if (error) return callback(error);
      typedOutput.end();
      finished(typedOutput).then(() => callback(), callback);
    });
  }

  private keepPartial(part: Buffer): void {
    this.carryLength += part.length;
    if (this.carryLength > this.limits.maxLineBytes) {
      // Keep only the start of an oversized line, for the quarantine record.
      if (!this.oversized) {
        this.carry = [Buffer.concat([...this.carry, part]).subarray(0, REJECTED_TEXT_LIMIT)];
        this.oversized = true;
      }
      return;
    }
    this.carry.push(Buffer.from(part));
  }

  private emitLine(source: Buffer, from: number, to: number, length: number, out: ByteBuffer, knownValid: boolean): void {
    this.lineNo++;
    let end = to;
    if (end > from && source[end - 1] === 13) end--;
    if (length > this.limits.maxLineBytes || this.oversized) {
      this.reject(`line is ${length} bytes, longer than the limit of ${this.limits.maxLineBytes}`, source.subarray(from, end));
      return;
    }
    if (isBlank(source, from, end)) {
      this.blankLines++;
      return;
    }
    if (!knownValid && !isUtf8(source.subarray(from, end))) {
      this.reject('line is not valid UTF-8', source.subarray(from, end));
      return;
    }
    // Past the object's first staged line, a line the typer takes skips the byte checks below,
    // and the copy of the line they read: a typer refuses any line holding a control byte
    // (LineTyper). The first line is checked first, as the typer learns the layout from it.
    if (this.stagedLines > 0 && this.typeRow(source, from, end)) return;
    const line = source.subarray(from, end);
    if (line.includes(FIELD_SEPARATOR) || line.includes(0)) {
      this.reject('line contains a NUL or control byte 0x1f', line);
      return;
    }
    // DuckDB's CSV reader, which reads the staged files, fails the whole file at a lone carriage
    // return inside a line (a CRLF line end is stripped above).
    if (line.includes(13)) {
      this.reject('line contains a carriage return (0x0d) before its end', line);
      return;
    }
    if (this.stagedLines === 0 && this.typeRow(source, from, end)) return;
    this.stagedLines++;
    const before = out.length;
    out.writeDecimal(this.lineNo);
    out.writeByte(FIELD_SEPARATOR);
    out.copyFrom(source, from, end);
    out.writeByte(10);
    this.bytesOut += out.length - before;
  }

  /** Writes the line's typed row and counts it as staged, if there is a typer and it takes the line. */
  private typeRow(source: Buffer, from: number, end: number): boolean {
    const rows = this.rows;
    if (!this.typed || !rows) return false;
    this.lineNoValue[0] = this.lineNo;
    rows.setInteger(0, this.lineNoValue, 0);
    if (!this.typed.typer.typeLine(source, from, end, rows)) {
      rows.abortRow();
      return false;
    }
    const filled = rows.endRow();
    if (filled) this.filledRowGroups.push(filled);
    this.stagedLines++;
    this.typedLines++;
    return true;
  }

  private reject(reason: string, line: Buffer): void {
    if (this.rejected.length >= this.limits.maxRejectedLines) {
      throw new ObjectUnreadableError(`more than ${this.limits.maxRejectedLines} lines rejected (the last at line ${this.lineNo}: ${reason})`);
    }
    this.rejected.push({ line: this.lineNo, reason, text: line.subarray(0, REJECTED_TEXT_LIMIT).toString('utf8') });
  }

  private pushOut(out: ByteBuffer): void {
    if (out.length > 0) this.push(out.bytes());
  }
}

function isBlank(source: Buffer, from: number, to: number): boolean {
  for (let index = from; index < to; index++) {
    const byte = source[index];
    if (byte !== 32 && byte !== 9) return false;
  }
  return true;
}
