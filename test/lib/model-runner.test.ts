import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { ModelDefinitionError, parseModelFile } from '../../lib/models/model-definition.ts';
import { ModelRunner } from '../../lib/models/model-runner.ts';

const WIDE = `select
    i as id,
    'k' || (i % 3) as key,
    make_timestamp(1714568400000000 + i * 1000000) as at,
    i % 2 = 0 as even,
    [('t' || i)] as tags,
    cast(null as varchar) as always_null,
    cast(i as bigint) * 1000000000 as big
from range(1000) as r(i)`;

function model(name: string, materialized: string, sql: string, tests = 'not_null(id)'): string {
  return `-- grain: one row per id\n-- keys: id\n-- upstream: none\n-- materialized: ${materialized}\n-- tests: ${tests}\n${sql}`;
}

describe('ModelRunner: parquet materialization', () => {
  let dir: string;
  let session: DuckDbSession;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-model-runner-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
  });
  afterEach(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  const runner = () => new ModelRunner(session, createLogger({ level: 'error', write: () => {} }));

  it('writes the rows to a Parquet file in the work directory and reads them back with the same types and values as a table', async () => {
    const run = await runner().run(
      [
        parseModelFile('wide_parquet.sql', 'normalize', model('wide_parquet', 'parquet', WIDE, 'not_null(id, key); unique(id)')),
        parseModelFile('wide_table.sql', 'normalize', model('wide_table', 'table', WIDE)),
        parseModelFile(
          'downstream.sql',
          'enrich',
          model('downstream', 'table', 'select key as id, count(*) as n from wide_parquet group by key').replace('-- upstream: none', '-- upstream: wide_parquet'),
        ),
      ],
      new Set(),
    );
    expect(run.error).toBeUndefined();
    expect(run.models.find((m) => m.name === 'wide_parquet')).toMatchObject({ status: 'built', rows: 1000 });
    expect(await readdir(path.join(dir, 'models'))).toEqual(['wide_parquet.parquet']);
    const [kind] = await session.all<{ table_type: string }>(`SELECT table_type FROM information_schema.tables WHERE table_name = 'wide_parquet'`);
    expect(kind!.table_type).toBe('VIEW');
    expect(await session.all(`DESCRIBE wide_parquet`)).toEqual(await session.all(`DESCRIBE wide_table`));
    const [diff] = await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM ((FROM wide_parquet EXCEPT ALL FROM wide_table) UNION ALL (FROM wide_table EXCEPT ALL FROM wide_parquet))`);
    expect(diff!.n).toBe(0n);
    expect(await session.all(`SELECT id, n FROM downstream ORDER BY id`)).toEqual([
      { id: 'k0', n: 334n },
      { id: 'k1', n: 333n },
      { id: 'k2', n: 333n },
    ]);
  });

  it('reports the file it wrote, uncompressed unless the model names a compression (the flows mart is published as it is written)', async () => {
    const plain = parseModelFile('plain.sql', 'normalize', model('plain', 'parquet', WIDE));
    const run = await runner().run([plain, { ...plain, name: 'zstd', origin: 'generated:test', parquetCompression: { codec: 'zstd', level: 1 } }], new Set());
    expect(run.error).toBeUndefined();
    const codecs = async (name: string) => {
      const file = run.models.find((m) => m.name === name)!.file!;
      expect(file).toBe(path.join(dir, 'models', `${name}.parquet`));
      return (await session.all<{ codec: string }>(`SELECT DISTINCT compression AS codec FROM parquet_metadata('${file}')`)).map((row) => row.codec);
    };
    expect(await codecs('plain')).toEqual(['UNCOMPRESSED']);
    expect(await codecs('zstd')).toEqual(['ZSTD']);
    const [diff] = await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM ((FROM plain EXCEPT ALL FROM zstd) UNION ALL (FROM zstd EXCEPT ALL FROM plain))`);
    expect(diff!.n).toBe(0n);
  });

  it("runs the model's data tests on the file, and reports a failing one with the model", async () => {
    const run = await runner().run([parseModelFile('dupes.sql', 'normalize', model('dupes', 'parquet', 'select i % 10 as id from range(100) as r(i)', 'unique(id)'))], new Set());
    expect(run.ok).toBe(false);
    expect(run.error).toBe('model dupes (dupes.sql) failed: data test unique(id) failed for 10 row(s)');
  });

  it('refuses an unknown materialization, naming the file', () => {
    expect(() => parseModelFile('x.sql', 'normalize', model('x', 'bogus', 'select 1 as id'))).toThrow(
      new ModelDefinitionError('x.sql', 'materialized must be "table", "view" or "parquet", got "bogus"'),
    );
  });
});
