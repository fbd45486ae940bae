import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { parquetNullCounts } from '../../lib/models/parquet-null-counts.ts';
import { ParquetWriter } from '../../lib/staging/parquet-writer.ts';

describe('parquetNullCounts: NULL counts from a Parquet footer, where it has them', () => {
  let dir: string;
  let session: DuckDbSession;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-null-counts-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '1GB' });
  });
  afterAll(async () => {
    session?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sums each flat column over row groups, and leaves nested columns to a scan', async () => {
    const file = path.join(dir, 'duckdb.parquet');
    // Three row groups; b is NULL in every seventh row, c never, tags an empty list or NULL now and then.
    await session.run(`COPY (
      SELECT i AS a, CASE WHEN i % 7 = 0 THEN NULL ELSE 'x' || i END AS b, 1 AS c,
        CASE WHEN i % 5 = 0 THEN NULL WHEN i % 3 = 0 THEN []::VARCHAR[] ELSE ['t'] END AS tags
      FROM range(25000) AS t(i)
    ) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE 10000)`);
    const counts = await parquetNullCounts(session, file);
    expect(Object.fromEntries(counts)).toEqual({ a: 0, b: Math.ceil(25000 / 7), c: 0 });
  });

  it("gives nothing for a file written without statistics (staging's own writer)", async () => {
    const writer = new ParquetWriter([{ name: 'n', type: 'BIGINT' }]);
    const parts: Uint8Array[] = [];
    const values = new Float64Array([42]);
    for (let row = 0; row < 3; row++) {
      if (row !== 1) writer.setInteger(0, values, 0);
      const group = writer.endRow();
      if (group) parts.push(group);
    }
    parts.push(...writer.finish());
    const file = path.join(dir, 'staged.parquet');
    await writeFile(file, Buffer.concat(parts));
    expect((await session.all<{ n: bigint }>(`SELECT count(*) FILTER (WHERE n IS NULL) AS n FROM read_parquet(${sqlString(file)})`))[0]!.n).toBe(1n);
    expect((await parquetNullCounts(session, file)).size).toBe(0);
  });
});
