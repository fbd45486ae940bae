import { open } from 'node:fs/promises';
import { ByteBuffer } from './byte-buffer.ts';
import { JsonRecordSplitter, type TuplePath } from './json-record-splitter.ts';
import { readRawObject, type RawObjectRead } from './read-raw-object.ts';
import { discardPartialFiles, FIELD_SEPARATOR, ObjectUnreadableError, type RejectedLine, type StagedLines, type StageLimits } from './stage-lines.ts';

/**
 * A tuple's raw_offset is `record index * RECORD_OFFSET_FACTOR + tuple index` (both 1-based); a
 * record refused whole has tuple index 0. A staged record is at most 1 MiB, so it never holds a
 * million tuples.
 */
export const RECORD_OFFSET_FACTOR = 1_000_000;

const SEPARATOR = Buffer.from([FIELD_SEPARATOR]);
const COMMA = 0x2c;
const NEWLINE = Buffer.from('\n');

/**
 * Types a source's plain flow tuples while they are staged (SourceDefinition.tupleTyper): Node
 * reads a tuple in hand for a fraction of what splitting, casting and checking it costs in SQL.
 * A tuple is plain when it is comma-separated fields each in the one form the normalize model
 * reads without doubt (decimal numbers without leading zeros and in range, dotted-quad IPv4
 * addresses, the documented letters). It is staged as it is, in the typed tuples file, where
 * DuckDB reads its fields as typed columns and the model takes them so; every other tuple is
 * staged as text, and the model splits, types and checks it in SQL, which gives a plain one the
 * same values (a seeded test holds both paths equal: test/sources/azure-plain-tuples.test.ts).
 */
export interface TupleTyper {
  /** The typed columns, one per field of the longest plain tuple, in field order, with their DuckDB types. */
  readonly columns: readonly (readonly [name: string, type: string])[];
  /**
   * The number of fields of the tuple in bytes `from` to `to` of `text` when it is plain (a
   * shorter tuple's missing columns are staged empty, read as NULL), else 0. A plain tuple holds
   * nothing but ASCII letters, digits, '.', ',' and '_': the splitter takes this check as its
   * TupleProbe and skips tokenizing the bytes it accepts (lib/staging/json-record-splitter.ts).
   */
  plainFields(text: Buffer, from: number, to: number): number;
}

/** Where stageJsonRecords writes the tuples of the records it writes to `linesPath`. */
export function tuplesPathOf(linesPath: string): string {
  return linesPath.replace(/\.txt$/, '.tuples.txt');
}

/** Where stageJsonRecords writes the plain tuples it typed (TupleTyper). */
export function typedTuplesPathOf(linesPath: string): string {
  return linesPath.replace(/\.txt$/, '.typed-tuples.txt');
}

/**
 * Stages one JSON document that holds a `records` array (Azure NSG and VNet flow log blobs,
 * `PT1H.json`) as line files of the shape stageLines writes:
 *  - `outputPath`: every record as `<record index>\x1f<record as compact JSON>\n`, the record's
 *    1-based index in the document in place of a line number, with the elements of each array at
 *    one of `tuplePaths` taken out (the array left as `[]`);
 *  - tuplesPathOf(outputPath): every element taken out, one per line, as
 *    `<raw_offset>\x1f<group>\x1f<tuple>\n`: raw_offset = record index * RECORD_OFFSET_FACTOR +
 *    the tuple's 1-based index in the record in document order, group = the 1-based index of its
 *    array in the record, tuple = a string's value (escapes kept where it holds control
 *    characters), any other value as its compact JSON;
 *  - with `tupleTyper`, typedTuplesPathOf(outputPath): the plain tuples instead, as
 *    `<raw_offset>,<group>,<tuple>\n`, commas added for the fields a shorter one does not have,
 *    so that its fields are columns of a comma-separated file.
 * The normalize model reads each small record once and joins its tuples back by group.
 *
 * The document is streamed (lib/staging/json-record-splitter.ts): memory holds a chunk and a
 * record, whatever the blob's size, and the staging limits of every raw object apply (gzip
 * verified end to end, decompressed size and ratio caps). A document that is cut off, is not
 * JSON, is not UTF-8 or has no `records` array cannot be read at all and is quarantined whole,
 * with the line where it broke; a record larger than the line limit (its tuples counted) is
 * quarantined alone.
 */
export async function stageJsonRecords(inputPath: string, outputPath: string, limits: StageLimits, tuplePaths: readonly TuplePath[] = [], tupleTyper?: TupleTyper): Promise<StagedLines> {
  const rejected: RejectedLine[] = [];
  let stagedLines = 0;
  let bytesOut = 0;
  let records: Buffer[] = [];
  let tuples: Buffer[] = [];
  let typedTuples: Buffer[] = [];
  // The tuples of the record being read, as text and typed: void if the record is refused.
  const recordTuples = new ByteBuffer();
  const recordTyped = new ByteBuffer();
  let tupleNo = 0;
  let prefixOf = 0;
  let prefix = Buffer.alloc(0);
  const typedColumns = tupleTyper?.columns.length ?? 0;
  const splitter = new JsonRecordSplitter(
    limits.maxLineBytes,
    {
      tuple(index, group, text, from, to, probed) {
        // A staged record is at most maxLineBytes, so it never holds RECORD_OFFSET_FACTOR tuples:
        // raw_offset is the record index followed by the tuple index in six digits.
        if (index !== prefixOf) {
          prefixOf = index;
          prefix = Buffer.from(`${index}`);
        }
        tupleNo++;
        const fields = probed || (tupleTyper ? tupleTyper.plainFields(text, from, to) : 0);
        // A plain tuple's fields hold no comma: its own commas separate the typed columns.
        const out = fields > 0 ? recordTyped : recordTuples;
        const separator = fields > 0 ? COMMA : FIELD_SEPARATOR;
        out.copyFrom(prefix, 0, prefix.length);
        out.writeDecimal(tupleNo, 6);
        out.writeByte(separator);
        out.writeDecimal(group);
        out.writeByte(separator);
        out.copyFrom(text, from, to);
        for (let missing = fields > 0 ? typedColumns - fields : 0; missing > 0; missing--) out.writeByte(COMMA);
        out.writeByte(0x0a);
      },
      record(index, pieces) {
        // JSON text holds no raw control characters, so 0x1f and newlines cannot occur in a record.
        records.push(Buffer.from(`${index}`), SEPARATOR, ...pieces, NEWLINE);
        tuples.push(recordTuples.take());
        if (recordTyped.length > 0) typedTuples.push(recordTyped.take());
        tupleNo = 0;
        stagedLines++;
      },
      refused(index, reason, head) {
        recordTuples.truncate(0);
        recordTyped.truncate(0);
        tupleNo = 0;
        if (rejected.length >= limits.maxRejectedLines) throw new ObjectUnreadableError(`more than ${limits.maxRejectedLines} records rejected (the last, record ${index}: ${reason})`);
        rejected.push({ line: index * RECORD_OFFSET_FACTOR, reason, text: head.toString('utf8') });
      },
    },
    tuplePaths,
    tupleTyper && ((text, from, to) => tupleTyper.plainFields(text, from, to)),
  );
  const output = await open(outputPath, 'w');
  const tupleOutput = await open(tuplesPathOf(outputPath), 'w');
  const typedOutput = tupleTyper ? await open(typedTuplesPathOf(outputPath), 'w') : undefined;
  const flush = async () => {
    const recordBytes = Buffer.concat(records);
    const tupleBytes = Buffer.concat(tuples);
    const typedBytes = Buffer.concat(typedTuples);
    records = [];
    tuples = [];
    typedTuples = [];
    bytesOut += recordBytes.length + tupleBytes.length + typedBytes.length;
    if (recordBytes.length > 0) await output.write(recordBytes);
    if (tupleBytes.length > 0) await tupleOutput.write(tupleBytes);
    if (typedBytes.length > 0) await typedOutput!.write(typedBytes);
  };
  let read: RawObjectRead;
  try {
    read = await readRawObject(inputPath, limits, async (chunks) => {
      for await (const chunk of chunks) {
        splitter.feed(chunk);
        await flush();
      }
      splitter.end();
      await flush();
    });
  } catch (error) {
    await output.close();
    await tupleOutput.close();
    await typedOutput?.close();
    return discardPartialFiles([outputPath, tuplesPathOf(outputPath), typedTuplesPathOf(outputPath)], error);
  }
  await output.close();
  await tupleOutput.close();
  await typedOutput?.close();
  return { lines: splitter.records, stagedLines, blankLines: 0, rejected, compressed: read.compressed, bytesIn: read.bytesIn, bytesOut };
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
