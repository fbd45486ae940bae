/**
 * A Parquet writer for the rows staging types (lib/staging/stage-lines.ts), so that DuckDB reads
 * them as columns instead of parsing text: reading a Parquet column costs DuckDB a fraction of
 * what splitting and casting the same values from CSV does, and a model can scan the files again
 * (with only the columns it needs) instead of copying them into a table first.
 *
 * Deliberately small: a flat schema of optional columns (BOOLEAN, INTEGER, BIGINT, VARCHAR),
 * PLAIN values, RLE or bit-packed definition levels, one uncompressed data page per column per row group
 * (format 2.x, data page v1, as parquet-format's specification describes it). The files live in
 * the run's work directory for minutes; they are never published.
 */

export type ParquetColumnType = 'BOOLEAN' | 'INTEGER' | 'BIGINT' | 'VARCHAR';

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
}

/** Rows per row group: DuckDB reads row groups in parallel, and a writer holds one in memory. */
export const DEFAULT_ROW_GROUP_ROWS = 122_880;

/**
 * A row group is also cut once its values hold this many bytes (checked every ROW_GROUP_BYTES_CHECK
 * rows): records up to the line limit (1 MiB) must not make a writer hold gigabytes, nor a page
 * pass the 2 GiB its header can state.
 */
export const DEFAULT_ROW_GROUP_BYTES = 64 << 20;
const ROW_GROUP_BYTES_CHECK = 64;

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // PAR1

// parquet.thrift enums.
const PHYSICAL_TYPE = { BOOLEAN: 0, INTEGER: 1, BIGINT: 2, VARCHAR: 6 } as const;
const OPTIONAL = 1;
const CONVERTED_UTF8 = 0;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const CODEC_UNCOMPRESSED = 0;
const PAGE_DATA = 0;

const TWO_POW_32 = 2 ** 32;

// Parquet is little-endian; so are the machines Node runs on here (x64, arm64): the words are written as they are.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('the staging Parquet writer needs a little-endian machine');

/** A buffer's bytes as 32-bit words (its own ArrayBuffer: Buffer.allocUnsafe of 4 KiB and more is not pooled). */
function wordsOf(buffer: Buffer): Uint32Array {
  if (buffer.byteOffset % 4 !== 0) throw new Error('a column buffer must be word-aligned');
  return new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.length >> 2);
}

/** One column of the row group in hand: its PLAIN values and a definition level per row. */
class ColumnBuffer {
  values: Buffer;
  /** `values` as 32-bit words: INTEGER and BIGINT values are word-aligned, as every value of their column has their width. */
  words: Uint32Array;
  length = 0;
  /** 1 where the row has a value, 0 where it is NULL (rows never set stay 0), one per row of a full row group. */
  readonly defined: Uint8Array;
  /** Rows of the row group with a value. */
  definedRows = 0;
  /** `length` before the row in hand set its value: what abortRow restores. */
  rowStart = 0;
  /** An INTEGER column (4-byte values; BIGINT: 8). */
  readonly isInteger: boolean;

  constructor(
    readonly column: ParquetColumn,
    rowGroupRows: number,
  ) {
    this.defined = new Uint8Array(rowGroupRows);
    // Small to start, grown by doubling: most columns of a format-wide schema stay NULL.
    this.values = Buffer.allocUnsafe(1 << 12);
    this.words = wordsOf(this.values);
    this.isInteger = column.type === 'INTEGER';
  }

  /** Room for `bytes` more bytes (the hot path small, so that V8 inlines it into each setter). */
  ensure(bytes: number): Buffer {
    if (this.length + bytes > this.values.length) this.grow(bytes);
    return this.values;
  }

  private grow(bytes: number): void {
    const grown = Buffer.allocUnsafe(Math.max(this.values.length * 2, this.length + bytes));
    this.values.copy(grown, 0, 0, this.length);
    this.values = grown;
    this.words = wordsOf(grown);
  }
}

/**
 * Writes rows column by column; `endRow` hands back a full row group's bytes, `finish` the rest
 * and the footer. The bytes go wherever the caller writes them, in order (the file's offsets are
 * counted here). A value not set in a row is NULL; `abortRow` forgets the row in hand.
 */
export class ParquetWriter {
  private readonly buffers: ColumnBuffer[];
  private rowsInGroup = 0;
  private offset = 0;
  private totalRows = 0;
  private readonly rowGroups: { rows: number; byteSize: number; chunks: { offset: number; size: number }[] }[] = [];

  constructor(
    readonly columns: readonly ParquetColumn[],
    private readonly rowGroupRows = DEFAULT_ROW_GROUP_ROWS,
    private readonly rowGroupBytes = DEFAULT_ROW_GROUP_BYTES,
  ) {
    if (columns.length === 0) throw new Error('a Parquet file needs at least one column');
    const spare = SPARE_BUFFERS.get(columns)?.pop();
    this.buffers = spare && spare[0]!.defined.length === rowGroupRows ? spare : columns.map((column) => new ColumnBuffer(column, rowGroupRows));
  }

  /**
   * An INTEGER or BIGINT value (an integer within ±2^53), `values[index]`: read here, since a
   * number past 2^30 passed as an argument is boxed, once per value.
   */
  setInteger(column: number, values: Float64Array, index: number): void {
    const buffer = this.touch(column);
    const value = values[index]!;
    if (buffer.isInteger) {
      buffer.ensure(4);
      buffer.words[buffer.length >> 2] = value >>> 0;
      buffer.length += 4;
      return;
    }
    buffer.ensure(8);
    const word = buffer.length >> 2;
    buffer.words[word] = value >>> 0;
    // Two's complement: the high word of a negative value is floor(value / 2^32) mod 2^32.
    buffer.words[word + 1] = Math.floor(value / TWO_POW_32) >>> 0;
    buffer.length += 8;
  }

  setBoolean(column: number, value: boolean): void {
    const buffer = this.touch(column);
    buffer.ensure(1)[buffer.length++] = value ? 1 : 0;
  }

  /** A VARCHAR value from bytes (UTF-8, as the caller checked). */
  setBytes(column: number, source: Uint8Array, from: number, to: number): void {
    const buffer = this.touch(column);
    const length = to - from;
    const out = buffer.ensure(4 + length);
    let at = buffer.length;
    out[at++] = length & 0xff;
    out[at++] = (length >>> 8) & 0xff;
    out[at++] = (length >>> 16) & 0xff;
    out[at++] = length >>> 24;
    for (let index = from; index < to; index++) out[at++] = source[index]!;
    buffer.length = at;
  }

  /** Forgets the values set since the last endRow. */
  abortRow(): void {
    const row = this.rowsInGroup;
    for (const buffer of this.buffers) {
      if (buffer.defined[row] === 0) continue;
      buffer.length = buffer.rowStart;
      buffer.defined[row] = 0;
      buffer.definedRows--;
    }
  }

  /** Ends the row in hand; returns a row group's bytes when it fills one. */
  endRow(): Uint8Array | undefined {
    const rows = ++this.rowsInGroup;
    if (rows === this.rowGroupRows) return this.flushRowGroup();
    if (rows % ROW_GROUP_BYTES_CHECK === 0 && this.bufferedBytes() >= this.rowGroupBytes) return this.flushRowGroup();
    return undefined;
  }

  private bufferedBytes(): number {
    let bytes = 0;
    for (const buffer of this.buffers) bytes += buffer.length;
    return bytes;
  }

  /**
   * The last row group and the footer, to write in order; the file is complete once they are
   * written. None for a file with no rows.
   */
  finish(): Uint8Array[] {
    // A row neither ended nor aborted is not the file's, and must not reach the next writer
    // that takes these buffers.
    this.abortRow();
    if (this.totalRows + this.rowsInGroup === 0) return [];
    const last = this.rowsInGroup > 0 ? [this.flushRowGroup()] : [];
    const footer = this.footer();
    const trailer = new Uint8Array(footer.length + 8);
    trailer.set(footer, 0);
    new DataView(trailer.buffer).setUint32(footer.length, footer.length, true);
    trailer.set(MAGIC, footer.length + 4);
    this.recycleBuffers();
    return [...last, trailer];
  }

  /**
   * The column buffers, empty and grown to an object's size, for the next writer of the same
   * columns: staging writes one file per object, and growing them again for each cost more than
   * filling them.
   */
  private recycleBuffers(): void {
    const spare = SPARE_BUFFERS.get(this.columns) ?? [];
    SPARE_BUFFERS.set(this.columns, spare);
    if (spare.length < MAX_SPARE_SETS) spare.push(this.buffers);
  }

  private touch(column: number): ColumnBuffer {
    const buffer = this.buffers[column]!;
    const row = this.rowsInGroup;
    if (buffer.defined[row] !== 0) setTwice(buffer);
    buffer.rowStart = buffer.length;
    buffer.defined[row] = 1;
    buffer.definedRows++;
    return buffer;
  }

  private flushRowGroup(): Uint8Array {
    const rows = this.rowsInGroup;
    const parts: Uint8Array[] = [];
    let size = 0;
    if (this.offset === 0) {
      parts.push(MAGIC);
      size += MAGIC.length;
    }
    const chunks: { offset: number; size: number }[] = [];
    for (const buffer of this.buffers) {
      const levels = definitionLevels(buffer, rows);
      const values = buffer.column.type === 'BOOLEAN' ? packBooleans(buffer.values, buffer.length) : buffer.values.subarray(0, buffer.length);
      const pageSize = 4 + levels.length + values.length;
      const header = pageHeader(rows, pageSize);
      chunks.push({ offset: this.offset + size, size: header.length + pageSize });
      const lengthPrefix = new Uint8Array(4);
      new DataView(lengthPrefix.buffer).setUint32(0, levels.length, true);
      parts.push(header, lengthPrefix, levels, values);
      size += header.length + pageSize;
      buffer.length = 0;
      if (buffer.definedRows > 0) buffer.defined.fill(0, 0, rows);
      buffer.definedRows = 0;
    }
    this.rowGroups.push({ rows, byteSize: chunks.reduce((sum, chunk) => sum + chunk.size, 0), chunks });
    this.totalRows += rows;
    this.rowsInGroup = 0;
    this.offset += size;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  private footer(): Uint8Array {
    const out = new ThriftCompactWriter();
    out.beginStruct();
    out.i32Field(1, 1); // version
    out.listField(2, THRIFT_STRUCT, this.columns.length + 1); // schema
    out.beginStruct();
    out.binaryField(4, 'schema');
    out.i32Field(5, this.columns.length); // num_children
    out.endStruct();
    for (const column of this.columns) {
      out.beginStruct();
      out.i32Field(1, PHYSICAL_TYPE[column.type]);
      out.i32Field(3, OPTIONAL);
      out.binaryField(4, column.name);
      if (column.type === 'VARCHAR') {
        out.i32Field(6, CONVERTED_UTF8);
        out.structField(10); // logicalType: STRING
        out.structField(1);
        out.endStruct();
        out.endStruct();
      }
      out.endStruct();
    }
    out.i64Field(3, this.totalRows);
    out.listField(4, THRIFT_STRUCT, this.rowGroups.length);
    for (const group of this.rowGroups) {
      out.beginStruct();
      out.listField(1, THRIFT_STRUCT, group.chunks.length);
      group.chunks.forEach((chunk, index) => {
        const column = this.columns[index]!;
        out.beginStruct();
        out.i64Field(2, chunk.offset); // file_offset
        out.structField(3); // meta_data
        out.i32Field(1, PHYSICAL_TYPE[column.type]);
        out.listField(2, THRIFT_I32, 2);
        out.i32(ENCODING_PLAIN);
        out.i32(ENCODING_RLE);
        out.listField(3, THRIFT_BINARY, 1);
        out.binary(column.name);
        out.i32Field(4, CODEC_UNCOMPRESSED);
        out.i64Field(5, group.rows);
        out.i64Field(6, chunk.size);
        out.i64Field(7, chunk.size);
        out.i64Field(9, chunk.offset); // data_page_offset
        out.endStruct();
        out.endStruct();
      });
      out.i64Field(2, group.byteSize);
      out.i64Field(3, group.rows);
      out.endStruct();
    }
    out.binaryField(6, 'netflow-lake staging');
    out.endStruct();
    return out.bytes();
  }
}

function setTwice(buffer: ColumnBuffer): never {
  throw new Error(`column ${buffer.column.name} set twice in one row`);
}

/** Column buffers of finished writers, by their columns (the same array: a typer's constant). */
const SPARE_BUFFERS = new WeakMap<readonly ParquetColumn[], ColumnBuffer[][]>();
const MAX_SPARE_SETS = 2;

/** A data page's header: v1, PLAIN values, RLE definition levels, uncompressed. */
function pageHeader(rows: number, pageSize: number): Uint8Array {
  const out = new ThriftCompactWriter();
  out.beginStruct();
  out.i32Field(1, PAGE_DATA);
  out.i32Field(2, pageSize);
  out.i32Field(3, pageSize);
  out.structField(5); // data_page_header
  out.i32Field(1, rows); // num_values, NULLs included
  out.i32Field(2, ENCODING_PLAIN);
  out.i32Field(3, ENCODING_RLE);
  out.i32Field(4, ENCODING_RLE);
  out.endStruct();
  out.endStruct();
  return out.bytes();
}

/**
 * Definition levels (bit width 1) in the RLE/bit-packing hybrid: a column without NULLs, or
 * with nothing else, is one RLE run of a few bytes; any other is one bit-packed run (the last
 * group of eight padded, as the hybrid allows).
 */
function definitionLevels(buffer: ColumnBuffer, rows: number): Uint8Array {
  if (buffer.definedRows === 0 || buffer.definedRows === rows) {
    const out: number[] = [];
    writeVarint(out, rows * 2);
    out.push(buffer.definedRows === 0 ? 0 : 1);
    return Uint8Array.from(out);
  }
  const groups = Math.ceil(rows / 8);
  const header: number[] = [];
  writeVarint(header, groups * 2 + 1);
  const out = new Uint8Array(header.length + groups);
  out.set(header, 0);
  const defined = buffer.defined;
  for (let index = 0; index < rows; index++) if (defined[index]) out[header.length + (index >> 3)]! |= 1 << (index & 7);
  return out;
}

/** PLAIN booleans: one bit per value, least significant bit first. */
function packBooleans(values: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(count / 8));
  for (let index = 0; index < count; index++) if (values[index]) out[index >> 3]! |= 1 << (index & 7);
  return out;
}

function writeVarint(out: number[], value: number): void {
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

const THRIFT_I32 = 5;
const THRIFT_I64 = 6;
const THRIFT_BINARY = 8;
const THRIFT_LIST = 9;
const THRIFT_STRUCT = 12;

/** The subset of Thrift's compact protocol that Parquet's footer and page headers use. */
class ThriftCompactWriter {
  private readonly out: number[] = [];
  private readonly lastFieldIds: number[] = [];
  private lastFieldId = 0;

  beginStruct(): void {
    this.lastFieldIds.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  endStruct(): void {
    this.out.push(0);
    this.lastFieldId = this.lastFieldIds.pop()!;
  }

  i32Field(id: number, value: number): void {
    this.fieldHeader(id, THRIFT_I32);
    this.i32(value);
  }

  i64Field(id: number, value: number): void {
    this.fieldHeader(id, THRIFT_I64);
    writeVarint(this.out, value >= 0 ? value * 2 : -value * 2 - 1);
  }

  binaryField(id: number, text: string): void {
    this.fieldHeader(id, THRIFT_BINARY);
    this.binary(text);
  }

  /** A struct-valued field: its fields follow, then endStruct. */
  structField(id: number): void {
    this.fieldHeader(id, THRIFT_STRUCT);
    this.beginStruct();
  }

  /** A list-valued field: its `size` elements follow (structs each with beginStruct and endStruct). */
  listField(id: number, elementType: number, size: number): void {
    this.fieldHeader(id, THRIFT_LIST);
    if (size < 15) {
      this.out.push((size << 4) | elementType);
    } else {
      this.out.push(0xf0 | elementType);
      writeVarint(this.out, size);
    }
  }

  i32(value: number): void {
    writeVarint(this.out, value >= 0 ? value * 2 : -value * 2 - 1);
  }

  binary(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    writeVarint(this.out, bytes.length);
    for (const byte of bytes) this.out.push(byte);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastFieldId;
    if (delta > 0 && delta <= 15) {
      this.out.push((delta << 4) | type);
    } else {
      this.out.push(type);
      this.i32(id);
    }
    this.lastFieldId = id;
  }
}
