import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../schemas/config.ts';
import { flowsTable } from '../../schemas/tables/index.ts';
import type { CliContext } from '../../cli/cli-context.ts';
import { queryCommand } from '../../cli/commands/query-command.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { publishPartition } from '../../lib/publish/publish-partition.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';

/**
 * Issue 8, security: the query command is where people type SQL, so it is where an escape would
 * be tried first. Each statement below tries to read a file outside the lake, write into the
 * lake's published files, or lift the session's limits; each must fail, leave every published
 * byte as it was, and print nothing of the secret.
 */
const SECRET = 'NETFLOW-SECRET-7f3a9c'; // the content of a file no session may read

let dir: string;
let secretFile: string;
let context: CliContext;
let out: string[];
let err: string[];
let publishedFile: string;
let publishedSha: string;

async function treeOf(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-sandbox-'));
  secretFile = path.join(dir, 'outside', 'secret.csv');
  await mkdir(path.dirname(secretFile), { recursive: true });
  await writeFile(secretFile, `secret\n${SECRET}\n`);
  // One published flows partition, through the real publish path.
  const stage = path.join(dir, 'stage');
  const session = await DuckDbSession.open({ workDir: stage, memoryLimit: '256MB', maxTempDirectorySize: '64MB' });
  const file = path.join(stage, 'flows.parquet');
  const columns = flowsTable.columns.map((c) => `CAST(${c.name === 'src_ip' ? `'10.0.0.1'` : 'NULL'} AS ${c.type}) AS "${c.name}"`).join(', ');
  await session.run(`COPY (SELECT ${columns}) TO ${sqlString(file)} (FORMAT parquet)`);
  session.close();
  const store = new LocalFolderStore(path.join(dir, 'lake'));
  const logger = createLogger({ level: 'debug', write: () => {} });
  await publishPartition({ store, partition: { dt: '2024-05-01', hour: '13' }, runId: 'r1', attemptId: 'a1', tables: [{ table: flowsTable, files: [{ localPath: file, rows: 1 }] }], logger });
  const manifest = (await readPublishedPartition(store, flowsTable, { dt: '2024-05-01', hour: '13' }))!;
  publishedFile = store.localPathOf(manifest.files[0]!.key)!;
  publishedSha = manifest.files[0]!.sha256;
  out = [];
  err = [];
  context = {
    config: configSchema.parse({ store: { type: 'local', path: path.join(dir, 'lake') }, work_dir: path.join(dir, 'work'), duckdb: { memory_limit: '256MB', max_temp_directory_size: '64MB' } }),
    configFile: undefined,
    baseDir: dir,
    store,
    logger,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the query command cannot leave the lake', () => {
  it('answers SQL over the published partition (the control case)', async () => {
    out.length = 0;
    expect(await queryCommand(context, 'SELECT count(*) AS n, min(src_ip) AS ip FROM flows', { format: 'csv' })).toBe(0);
    expect(out.join('')).toBe('n,ip\n1,10.0.0.1\n');
  });

  const attacks: [string, () => string][] = [
    ['read_text of a file outside', () => `SELECT content FROM read_text(${sqlString(secretFile)})`],
    ['read_csv of a file outside', () => `SELECT * FROM read_csv(${sqlString(secretFile)})`],
    [
      'climbing out of a readable version folder with ..',
      () => `SELECT content FROM read_text(${sqlString(path.join(path.dirname(publishedFile), '..', '..', '..', '..', '..', '..', 'outside', 'secret.csv'))})`,
    ],
    ['a glob over the filesystem', () => `SELECT file FROM glob('/etc/*')`],
    ['system files', () => `SELECT content FROM read_text('/etc/passwd')`],
    ['a file URL', () => `SELECT content FROM read_text(${sqlString(`file://${secretFile}`)})`],
    ['the network', () => `SELECT * FROM read_csv('http://127.0.0.1:9/secret.csv')`],
    ['COPY over a published file', () => `COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)} (FORMAT parquet)`],
    ['COPY next to published files', () => `COPY (SELECT 1 AS x) TO ${sqlString(path.join(path.dirname(publishedFile), 'part-99999.parquet'))} (FORMAT parquet)`],
    ['COPY outside', () => `COPY (SELECT 1 AS x) TO ${sqlString(path.join(dir, 'outside', 'written.csv'))}`],
    ['a second statement after a SELECT', () => `SELECT 1; COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)} (FORMAT parquet)`],
    ['EXPORT DATABASE', () => `EXPORT DATABASE ${sqlString(path.join(path.dirname(publishedFile), 'export'))}`],
    ['ATTACH a database file', () => `ATTACH ${sqlString(path.join(dir, 'outside', 'x.db'))}`],
    ['INSTALL an extension', () => `INSTALL httpfs`],
    ['LOAD an extension', () => `LOAD httpfs`],
    ['lifting the directory limit', () => `SET allowed_directories = ['/']`],
    ['enabling external access', () => `SET enable_external_access = true`],
    ['unlocking the configuration', () => `SET lock_configuration = false`],
    ['a secret for a remote store', () => `CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')`],
    ['replacing a view', () => `CREATE OR REPLACE VIEW flows AS SELECT content AS src_ip FROM read_text(${sqlString(secretFile)})`],
    ['a table macro that reads a file', () => `CREATE MACRO leak() AS TABLE SELECT * FROM read_text(${sqlString(secretFile)})`],
    ['query() running a COPY', () => `SELECT * FROM query(${sqlString(`COPY (SELECT 1) TO ${sqlString(publishedFile)}`)})`],
    ['EXPLAIN ANALYZE of a COPY over a published file (it runs the COPY)', () => `EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)} (FORMAT parquet)`],
    ['EXPLAIN ANALYZE of a COPY, behind a comment', () => `/* just a plan */ explain   analyze\n COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)} (FORMAT parquet)`],
    ['EXPLAIN of a COPY', () => `EXPLAIN COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)} (FORMAT parquet)`],
    ['EXPLAIN ANALYZE of an ATTACH', () => `EXPLAIN ANALYZE ATTACH ${sqlString(path.join(dir, 'outside', 'x.db'))}`],
    ['EXPLAIN ANALYZE of a SET', () => `EXPLAIN ANALYZE SET allowed_directories = ['/']`],
    ['EXPLAIN ANALYZE of an INSTALL', () => `EXPLAIN ANALYZE INSTALL httpfs`],
    ['EXPLAIN ANALYZE of a LOAD', () => `EXPLAIN ANALYZE LOAD httpfs`],
    ['EXPLAIN ANALYZE of a PRAGMA', () => `EXPLAIN ANALYZE PRAGMA database_list`],
    ['EXPLAIN with an option list', () => `EXPLAIN (FORMAT json) COPY (SELECT 1 AS x) TO ${sqlString(publishedFile)}`],
    ['a PRAGMA', () => `PRAGMA database_list`],
    ['reading a file of the table that the snapshot does not name', () => `SELECT * FROM read_parquet(${sqlString(path.join(path.dirname(publishedFile), 'part-00000-other.parquet'))})`],
  ];

  it('answers EXPLAIN and EXPLAIN ANALYZE of a query', async () => {
    for (const sql of ['EXPLAIN SELECT count(*) FROM flows', '-- why\nEXPLAIN ANALYZE SELECT count(*) FROM flows']) {
      out.length = 0;
      expect(await queryCommand(context, sql, { format: 'csv' }), sql).toBe(0);
      expect(out.join('')).toMatch(/physical_plan|analyzed_plan/);
    }
  });

  it.each(attacks)('refuses %s', async (_name, sqlOf) => {
    const before = (await treeOf(dir)).filter((f) => !f.startsWith('work/'));
    out.length = 0;
    err.length = 0;
    const code = await queryCommand(context, sqlOf(), { format: 'csv' });
    expect(code).toBe(1);
    expect(err.join('')).toMatch(
      /query failed: .*(Permission Error|disabled|not allowed|locked|only a query|EXPLAIN may only explain a query|exactly one SQL statement|Cannot access|Parser Error|Catalog Error)/s,
    );
    const printed = out.join('') + err.join('');
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toMatch(/root:x:0:0/);
    expect(
      createHash('sha256')
        .update(await readFile(publishedFile))
        .digest('hex'),
    ).toBe(publishedSha);
    expect((await treeOf(dir)).filter((f) => !f.startsWith('work/'))).toEqual(before);
  });
});

describe('configuration values cannot widen the session', () => {
  it.each([
    ['a quote in the work directory', "wd-'], enable_external_access = true, x = ['"],
    ['a bracket and comma list in the work directory', "wd', '/"],
    ['a comment marker in the work directory', "wd'-- "],
  ])('%s', async (_name, folder) => {
    const workDir = path.join(dir, 'odd', folder);
    const session = await DuckDbSession.open({ workDir, memoryLimit: '128MB', maxTempDirectorySize: '64MB' });
    try {
      await expect(session.all(`SELECT content FROM read_text(${sqlString(secretFile)})`)).rejects.toThrow(/Permission Error|Cannot access/);
      await expect(session.all(`SELECT content FROM read_text('/etc/hostname')`)).rejects.toThrow(/Permission Error|Cannot access/);
      const [row] = await session.all(`SELECT current_setting('enable_external_access') AS external, current_setting('allowed_directories') AS dirs`);
      expect(row!.external).toBe(false);
      // DuckDB adds its temp directory (inside the work directory) itself.
      for (const allowed of row!.dirs as string[]) expect(allowed.startsWith(`${path.resolve(workDir)}/`), allowed).toBe(true);
    } finally {
      session.close();
    }
  });

  it.each(["2GB'; SET enable_external_access = true; --", '2GB, allowed_directories = /', '1e9GB', '-1GB'])('refuses the memory limit %j before any session opens', (value) => {
    expect(configSchema.safeParse({ duckdb: { memory_limit: value } }).success).toBe(false);
    expect(configSchema.safeParse({ duckdb: { max_temp_directory_size: value } }).success).toBe(false);
  });
});

describe('a tampered published file', () => {
  it('is refused on read with a message naming it', async () => {
    const bytes = await readFile(publishedFile);
    // Same size, other bytes: only the hash the log recorded tells them apart.
    bytes[bytes.length - 9] = bytes[bytes.length - 9]! ^ 0xff;
    await writeFile(publishedFile, bytes);
    out.length = 0;
    err.length = 0;
    expect(await queryCommand(context, 'SELECT count(*) FROM flows', { format: 'csv' })).toBe(1);
    expect(err.join('')).toContain(`published file curated/flows/dt=2024-05-01/hour=13/part-00000-a1.parquet does not match the Delta log: SHA-256`);
    await writeFile(publishedFile, bytes.subarray(1));
    err.length = 0;
    expect(await queryCommand(context, 'SELECT count(*) FROM flows', { format: 'csv' })).toBe(1);
    expect(err.join('')).toMatch(/part-00000-a1\.parquet does not match the Delta log: \d+ bytes, the log says \d+/);
  });
});
