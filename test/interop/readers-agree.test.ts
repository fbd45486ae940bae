import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deltaReaderGuards, findDeltaReaders, readWithPython, rowKey, type ReaderResult } from '../support/delta-readers.ts';

/**
 * The harness of the interop tests proven on its own: a Delta table that delta-rs itself writes
 * (every contract type, nulls, a replaced partition, a checkpoint) reads the same, in the canonical
 * form, through delta-rs and through Spark. A disagreement here is the harness's, not the lake's.
 */
const readers = findDeltaReaders();
const guards = deltaReaderGuards(readers);

guards.both.describe('delta-rs and Spark agree on a table delta-rs writes', { timeout: 600_000 }, () => {
  let work: string;
  let deltalake: ReaderResult;
  let spark: ReaderResult;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'netflow-readers-'));
    const table = path.join(work, 'fixture');
    deltalake = await readWithPython(readers, work, { reader: 'deltalake', tables: { fixture: table }, write_fixture: table });
    spark = await readWithPython(readers, work, { reader: 'spark', tables: { fixture: table } });
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('returns the same columns and rows, after a replaced partition and across a checkpoint', () => {
    const fromDeltalake = deltalake.tables.fixture!;
    const fromSpark = spark.tables.fixture!;
    expect(fromSpark.columns).toEqual(fromDeltalake.columns);
    expect(fromDeltalake.rows.map(rowKey).sort()).toEqual(fromSpark.rows.map(rowKey).sort());
    // Hour 13 was replaced by run2; hour 15 was added after the checkpoint.
    expect(fromDeltalake.rows.map((row) => row.flow_id).sort()).toEqual(['run1-0', 'run1-1', 'run1-2', 'run2-0', 'run2-1', 'run2-2', 'run3-0', 'run3-1', 'run3-2']);
    const first = fromDeltalake.rows.find((row) => row.flow_id === 'run2-0')!;
    expect(first).toEqual({
      flow_id: 'run2-0',
      start_at: '2024-05-01T13:00:00.123456Z',
      src_port: '443',
      bytes: '1099511627776',
      rate: 0.1,
      is_public: true,
      tags: '["a","b"]',
      note: "l'été",
      dt: '2024-05-01',
      hour: '13',
    });
    expect(deltalake.versions.deltalake).toBe('1.1.4');
    expect(spark.versions.pyspark).toBe('3.5.5');
  });
});
