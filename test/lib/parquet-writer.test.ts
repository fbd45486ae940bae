import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParquetWriter, type ParquetColumn } from '../../lib/staging/parquet-writer.ts';

const SEED = Number(process.env.NETFLOW_TEST_SEED ?? 20261128);

type Value = number | boolean | string | null;

const COLUMNS: ParquetColumn[] = [
  { name: 'line_no', type: 'BIGINT' },
  { name: 'port', type: 'INTEGER' },
  { name: 'label', type: 'VARCHAR' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'counter', type: 'BIGINT' },
  { name: 'never_set', type: 'VARCHAR' },
];

/** Rows as the writer takes them: each value or NULL (not set), with rows the writer is told to forget. */
const row = fc.record({
  port: fc.option(fc.integer({ min: -2147483648, max: 2147483647 }), { freq: 4 }),
  label: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { freq: 4 }),
  flag: fc.option(fc.boolean(), { freq: 4 }),
  counter: fc.option(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), { freq: 4 }),
  aborted: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});
type Row = typeof row extends fc.Arbitrary<infer T> ? T : never;

describe('ParquetWriter: files DuckDB reads back exactly', () => {
  let dir: string;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-parquet-writer-'));
    connection = await (await DuckDBInstance.create(':memory:')).connect();
  });
  afterAll(async () => {
    connection.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, rows: Row[], rowGroupRows: number): Promise<Value[][]> {
    const writer = new ParquetWriter(COLUMNS, rowGroupRows);
    const parts: Uint8Array[] = [];
    const kept: Value[][] = [];
    const number = new Float64Array(1);
    for (const [index, r] of rows.entries()) {
      number[0] = index;
      writer.setInteger(0, number, 0);
      if (r.port !== null) writer.setInteger(1, Float64Array.of(r.port), 0);
      if (r.label !== null) {
        const bytes = Buffer.from(r.label, 'utf8');
        writer.setBytes(2, bytes, 0, bytes.length);
      }
      if (r.flag !== null) writer.setBoolean(3, r.flag);
      if (r.counter !== null) writer.setInteger(4, Float64Array.of(r.counter), 0);
      if (r.aborted) {
        writer.abortRow();
        continue;
      }
      const group = writer.endRow();
      if (group) parts.push(group);
      kept.push([index, r.port, r.label, r.flag, r.counter, null]);
    }
    parts.push(...writer.finish());
    await writeFile(path.join(dir, name), Buffer.concat(parts));
    return kept;
  }

  async function read(name: string): Promise<Value[][]> {
    const result = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path.join(dir, name)}') ORDER BY line_no`);
    return result.getRows().map((values) => values.map((value) => (typeof value === 'bigint' ? Number(value) : (value as Value))));
  }

  it('random rows of every column type, NULLs and forgotten rows, over several row groups', async () => {
    const rows = sampleRows(5000);
    const written = await write('random.parquet', rows, 997);
    expect(await read('random.parquet')).toEqual(written);
    const types = await connection.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${path.join(dir, 'random.parquet')}'))`);
    expect(types.getRows()).toEqual([
      ['line_no', 'BIGINT'],
      ['port', 'INTEGER'],
      ['label', 'VARCHAR'],
      ['flag', 'BOOLEAN'],
      ['counter', 'BIGINT'],
      ['never_set', 'VARCHAR'],
    ]);
    const groups = await connection.runAndReadAll(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${path.join(dir, 'random.parquet')}')`);
    expect(Number(groups.getRows()[0]![0])).toBe(Math.ceil(written.length / 997));
  });

  it('a row group filled exactly, then nothing more, and a file of one row', async () => {
    const rows = sampleRows(64).map((r) => ({ ...r, aborted: false }));
    expect(await read(await named('exact.parquet', rows, 32))).toHaveLength(64);
    expect(await read(await named('one.parquet', rows.slice(0, 1), 32))).toHaveLength(1);
  });

  it('cuts a row group at its byte limit too, so that long records never pile up in memory', async () => {
    const writer = new ParquetWriter(COLUMNS, 100_000, 1 << 20);
    const parts: Uint8Array[] = [];
    const long = Buffer.alloc(100_000, 0x61);
    for (let index = 0; index < 200; index++) {
      writer.setInteger(0, Float64Array.of(index), 0);
      writer.setBytes(2, long, 0, long.length);
      const group = writer.endRow();
      if (group) parts.push(group);
    }
    // 64 rows (the check's stride) of 100 kB pass 1 MiB: a row group each 64 rows.
    expect(parts).toHaveLength(3);
    parts.push(...writer.finish());
    await writeFile(path.join(dir, 'long.parquet'), Buffer.concat(parts));
    const read = await connection.runAndReadAll(`SELECT count(*), count(DISTINCT line_no), min(length(label)), max(length(label)) FROM read_parquet('${path.join(dir, 'long.parquet')}')`);
    expect(read.getRows()[0]!.map(Number)).toEqual([200, 200, 100_000, 100_000]);
    const groups = await connection.runAndReadAll(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${path.join(dir, 'long.parquet')}')`);
    expect(Number(groups.getRows()[0]![0])).toBe(4);
  });

  it('no rows: no bytes at all (the stager leaves an empty file, which nothing reads)', () => {
    const writer = new ParquetWriter(COLUMNS);
    writer.setInteger(0, Float64Array.of(1), 0);
    writer.abortRow();
    expect(writer.finish()).toEqual([]);
  });

  it('drops a row left unfinished at the end, and the next writer of the same columns starts clean', async () => {
    const writer = new ParquetWriter(COLUMNS);
    writer.setInteger(0, Float64Array.of(1), 0);
    writer.endRow();
    writer.setInteger(0, Float64Array.of(2), 0);
    writer.setBoolean(3, true);
    await writeFile(path.join(dir, 'unfinished.parquet'), Buffer.concat(writer.finish()));
    expect(await read('unfinished.parquet')).toEqual([[1, null, null, null, null, null]]);
    // The next writer takes the recycled buffers: the dropped row's values are not in its first row.
    const next = new ParquetWriter(COLUMNS);
    next.setInteger(0, Float64Array.of(7), 0);
    next.endRow();
    await writeFile(path.join(dir, 'next.parquet'), Buffer.concat(next.finish()));
    expect(await read('next.parquet')).toEqual([[7, null, null, null, null, null]]);
  });

  it('refuses a value set twice in one row', () => {
    const writer = new ParquetWriter(COLUMNS);
    writer.setBoolean(3, true);
    expect(() => writer.setBoolean(3, false)).toThrow(/column flag set twice in one row/);
  });

  async function named(name: string, rows: Row[], rowGroupRows: number): Promise<string> {
    await write(name, rows, rowGroupRows);
    return name;
  }
});

function sampleRows(count: number): Row[] {
  return fc.sample(row, { seed: SEED, numRuns: count });
}
