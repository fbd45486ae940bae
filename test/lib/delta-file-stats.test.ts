import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { computeFileStats } from '../../lib/delta/file-stats.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { defineTable, column } from '../../schemas/tables/table-definition.ts';

/** The add action's stats come from the Parquet footer; they must bound the file's values exactly as a scan would. */
const table = defineTable({
  name: 'stats_case',
  root: 'curated',
  schemaVersion: 1,
  orderBy: [],
  doc: 'test',
  columns: [
    column('at', 'TIMESTAMP', false, 'microseconds: the max rounds up to the next millisecond'),
    column('name', 'VARCHAR', true, 'NULLs counted; a long max is left out'),
    column('n', 'BIGINT', true, 'across row groups'),
    column('flag', 'BOOLEAN', false, 'booleans'),
    column('tags', 'VARCHAR[]', false, 'lists: no stats'),
  ],
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-stats-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('reads numRecords, min, max and NULL counts from the footer, across row groups', async () => {
  const file = path.join(dir, 'case.parquet');
  const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
  try {
    await session.run(
      `COPY (SELECT TIMESTAMPTZ '2024-05-01 13:00:00.000250+00' + to_microseconds(i) AS at,
                    CASE WHEN i % 4 = 0 THEN NULL WHEN i = 5 THEN 'zz' || repeat('x', 40) ELSE 'name-' || lpad(i::VARCHAR, 6, '0') END AS name,
                    CAST(i - 1000 AS BIGINT) AS n, i % 2 = 0 AS flag, ['a'] AS tags
             FROM range(250000) r(i)) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE 100000)`,
    );
  } finally {
    session.close();
  }
  const [stats] = await computeFileStats([{ table, localPath: file }], dir);
  expect(stats).toEqual({
    numRecords: 250_000,
    minValues: { at: '2024-05-01T13:00:00.000Z', name: 'name-000001', n: -1000, flag: false },
    maxValues: { at: '2024-05-01T13:00:00.251Z', n: 248_999, flag: true },
    nullCount: { at: 0, name: 62_500, n: 0, flag: 0 },
  });
});
