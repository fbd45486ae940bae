import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../cli/cli-context.ts';
import { historyCommand } from '../../cli/commands/history-command.ts';
import { migrateCommand } from '../../cli/commands/migrate-command.ts';
import { queryCommand } from '../../cli/commands/query-command.ts';
import { loadSnapshot } from '../../lib/delta/delta-log.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { sha256File } from '../../lib/publish/publish-partition.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { configSchema } from '../../schemas/config.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { alertsTable, flowsTable } from '../../schemas/tables/index.ts';
import { projectionSql, type TableDefinition } from '../../schemas/tables/table-definition.ts';
import { writeSyntheticFile } from '../support/synthetic-table-file.ts';

/**
 * `netflow migrate` on a lake of the manifest layout (flows as Parquet with plain timestamps,
 * alerts as NDJSON under alerts/), then `netflow history` and `netflow query --as-of` on the
 * Delta tables it leaves.
 */
let dir: string;
let store: LocalFolderStore;
let context: CliContext;
const out: string[] = [];
const err: string[] = [];

/** Publishes rows of the table the way the manifest protocol did: a version folder, a claim, a manifest. */
async function publishLegacy(table: TableDefinition, root: string, hour: string, attempt: string, format: 'parquet' | 'ndjson'): Promise<void> {
  const synthetic = await writeSyntheticFile({ table, dir, name: `${table.name}-${attempt}`, rows: 4, hour, marker: `legacy-${attempt}` });
  const file = path.join(dir, `${table.name}-${attempt}.${format}`);
  const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
  try {
    await session.run(`COPY (SELECT ${projectionSql(table)} FROM read_parquet(${sqlString(synthetic.localPath)})) TO ${sqlString(file)} (FORMAT ${format === 'parquet' ? 'parquet' : 'json'})`);
  } finally {
    session.close();
  }
  const partition = `${root}/${table.name}/dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}/`;
  const key = `${partition}version=${attempt}/part-00000.${format}`;
  const info = await store.putFile(key, file);
  await store.putBytes(`${partition}_commits/000000000000.json`, JSON.stringify({ attempt_id: attempt }));
  const manifest: Manifest = {
    manifest_version: 1,
    table: table.name,
    schema_version: table.schemaVersion,
    format,
    dt: hour.slice(0, 10),
    hour: hour.slice(11, 13),
    run_id: `legacy-${attempt}`,
    attempt_id: attempt,
    committed_at: '2024-05-01T14:20:00.000Z',
    rows: 4,
    files: [{ key, rows: 4, bytes: info.size, sha256: await sha256File(file) }],
    previous_attempt_id: null,
  };
  await store.putBytes(`${partition}_manifest.json`, JSON.stringify(manifest));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-migrate-'));
  store = new LocalFolderStore(path.join(dir, 'lake'));
  context = {
    config: configSchema.parse({
      store: { type: 'local', path: path.join(dir, 'lake') },
      work_dir: path.join(dir, 'work'),
      duckdb: { memory_limit: '256MB', max_temp_directory_size: '256MB' },
      publish: { grace_period: '1h' },
    }),
    configFile: undefined,
    baseDir: dir,
    store,
    logger: createLogger({ level: 'error', write: () => {} }),
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  };
  await publishLegacy(flowsTable, 'curated', '2024-05-01T13', 'a13', 'parquet');
  await publishLegacy(flowsTable, 'curated', '2024-05-01T14', 'a14', 'parquet');
  await publishLegacy(alertsTable, 'alerts', '2024-05-01T13', 'b13', 'ndjson');
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const query = async (sql: string, options: { asOf?: string } = {}) => {
  out.length = 0;
  err.length = 0;
  const code = await queryCommand(context, sql, { format: 'csv', ...options });
  return { code, out: out.join(''), err: err.join('') };
};

describe('netflow migrate', () => {
  it('converts every manifest partition into a Delta commit with its run id, and deletes the old layout', async () => {
    out.length = 0;
    expect(await migrateCommand(context)).toBe(0);
    expect(out.join('')).toBe('migrated 3 partition(s), 12 row(s): flows 2, alerts 1; deleted 9 old object(s)\n');
    const remaining: string[] = [];
    for await (const object of store.list('')) remaining.push(object.key);
    expect(remaining.filter((key) => /_manifest\.json|_commits\/|version=/.test(key) || key.startsWith('alerts/'))).toEqual([]);
    const flows = await loadSnapshot(store, flowsTable);
    expect(flows.version).toBe(1);
    expect([...flows.files.values()].map((add) => add.tags?.run_id).sort()).toEqual(['legacy-a13', 'legacy-a14']);
    expect(await query(`SELECT dt, hour, run_id, count(*) AS n, min(start_at) AS first FROM flows GROUP BY ALL ORDER BY hour`)).toEqual({
      code: 0,
      err: '',
      out: 'dt,hour,run_id,n,first\n2024-05-01,13,legacy-a13,4,2024-05-01 13:00:00\n2024-05-01,14,legacy-a14,4,2024-05-01 14:00:00\n',
    });
    expect((await query(`SELECT count(*) AS n FROM alerts WHERE run_id = 'legacy-b13'`)).out).toBe('n\n4\n');
  });

  it('run again, does nothing', async () => {
    out.length = 0;
    expect(await migrateCommand(context)).toBe(0);
    expect(out.join('')).toBe('nothing to migrate: no manifests found\n');
    expect((await loadSnapshot(store, flowsTable)).version).toBe(1);
  });
});

describe('netflow history and query --as-of', () => {
  it('lists every commit with its run, hour and the files and rows it added and removed', async () => {
    // A rerun of 13:00 replaces its partition.
    const { publishPartition } = await import('../../lib/publish/publish-partition.ts');
    const rerun = await writeSyntheticFile({ table: flowsTable, dir, name: 'rerun', rows: 2, hour: '2024-05-01T13', marker: 'rerun' });
    await publishPartition({
      store,
      partition: { dt: '2024-05-01', hour: '13' },
      runId: 'rerun',
      attemptId: 'r1',
      tables: [{ table: flowsTable, files: [rerun] }],
      logger: context.logger,
      gracePeriodMs: 3_600_000,
    });
    out.length = 0;
    expect(await historyCommand(context, 'flows', { format: 'csv' })).toBe(0);
    const lines = out.join('').trim().split('\n');
    expect(lines[0]).toBe('version,committed_at,operation,run_id,hour,files_added,files_removed,rows_added,rows_removed');
    expect(
      lines.slice(1).map((line) =>
        line
          .split(',')
          .filter((_, index) => index !== 1)
          .join(','),
      ),
    ).toEqual(['0,WRITE,legacy-a13,2024-05-01T13,1,0,4,0', '1,WRITE,legacy-a14,2024-05-01T14,1,0,4,0', '2,WRITE,rerun,2024-05-01T13,1,1,2,4']);
    await expect(historyCommand(context, 'nope', {})).rejects.toThrow(/history needs a table: one of flows, /);
  });

  it('reads an earlier version, or the version current at a time', async () => {
    expect((await query(`SELECT run_id, count(*) AS n FROM flows WHERE hour = '13' GROUP BY ALL`)).out).toBe('run_id,n\nrerun,2\n');
    expect(await query(`SELECT run_id, count(*) AS n FROM flows WHERE hour = '13' GROUP BY ALL`, { asOf: '1' })).toMatchObject({ err: '', out: 'run_id,n\nlegacy-a13,4\n' });
    expect((await query(`SELECT count(*) AS n FROM flows`, { asOf: '2000-01-01T00:00:00Z' })).out).toBe('n\n0\n');
    const missing = await query(`SELECT count(*) AS n FROM flows`, { asOf: '9' });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/table \w+ has no version 9/);
  });
});
