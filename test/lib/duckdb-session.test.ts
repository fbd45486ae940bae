import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';

describe('the locked-down DuckDB session', () => {
  let dir: string;
  let session: DuckDbSession;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-duckdb-'));
    await writeFile(path.join(dir, 'secret.csv'), 'a\n1\n');
    await writeFile(path.join(dir, 'inside.csv'), 'a\n2\n');
    session = await DuckDbSession.open({ workDir: path.join(dir, 'work'), memoryLimit: '256MB', maxTempDirectorySize: '64MB' });
  });
  afterAll(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and writes inside its work directory', async () => {
    await session.run(`COPY (SELECT 42 AS answer) TO '${path.join(dir, 'work', 'out.parquet')}' (FORMAT parquet)`);
    expect(await session.all(`SELECT answer FROM read_parquet('${path.join(dir, 'work', 'out.parquet')}')`)).toEqual([{ answer: 42 }]);
  });

  it.each([
    ['a file outside the work directory', `SELECT * FROM read_csv('secret.csv')`],
    ['a path that climbs out with ..', `SELECT * FROM read_csv('${'WORK'}/../secret.csv')`],
    ['system files', `SELECT * FROM read_text('/etc/passwd')`],
    ['writing outside', `COPY (SELECT 1) TO '/tmp/netflow-escape.csv'`],
    ['attaching a database', `ATTACH '/tmp/netflow-escape.db'`],
    ['installing an extension', `INSTALL httpfs`],
  ])('refuses %s', async (_case, sql) => {
    await expect(session.run(sql.replace('WORK', path.join(dir, 'work')).replace(`read_csv('secret.csv')`, `read_csv('${path.join(dir, 'secret.csv')}')`))).rejects.toThrow(
      /Permission Error|disabled by configuration|not allowed|Cannot access/,
    );
  });

  it.each(['SET enable_external_access = true', "SET allowed_directories = ['/']", "SET memory_limit = '100GB'", 'SET lock_configuration = false'])('cannot lift its limits: %s', async (sql) => {
    await expect(session.run(sql)).rejects.toThrow(/configuration has been locked/);
  });

  it('has the configured limits in force', async () => {
    const [row] = await session.all(`SELECT current_setting('memory_limit') AS memory, current_setting('max_temp_directory_size') AS temp, current_setting('enable_external_access') AS external`);
    expect(row).toEqual({ memory: '244.1 MiB', temp: '61.0 MiB', external: false });
  });
});
