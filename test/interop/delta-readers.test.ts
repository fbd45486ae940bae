import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runHourlyAnalytics } from '../../jobs/hourly-analytics.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { engineDdl } from '../../lib/ddl/engine-ddl.ts';
import { OCSF_VIEW_NAME } from '../../lib/ocsf/ocsf-network-activity.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { deltaReaderGuards, findDeltaReaders, netflowQueryRows, readWithPython, rowKey, tableDifferences, type CanonicalRows } from '../support/delta-readers.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { startRunner } from '../orchestration/support/child-runner.ts';

/**
 * delta-rs (Python deltalake) and Apache Spark (delta-spark, local mode), each a real process, read
 * every table of a lake our writer published and return exactly the rows `netflow query` returns,
 * in one canonical form (read-delta-tables.py): after a rerun, after a backfill overlapping a
 * scheduled run, after a kill -9 between the data upload and the commit, and across checkpoints.
 * Each scenario's lake is copied as it stands, so one process per reader reads every scenario
 * (Spark starts once); Spark also runs the DDL of `netflow ddl --engine spark` on the last one and
 * reads the tables and the OCSF view by name.
 */
const readers = findDeltaReaders();
const guards = deltaReaderGuards(readers);
const HOUR_13 = '2024-05-01T13';
const HOUR_14 = '2024-05-01T14';
/**
 * Filters Spark answers by skipping files on the log's stats (minValues, maxValues, nullCount): a
 * bound that is too narrow would drop rows here while a full read still matched.
 */
const SKIPPING_QUERIES: Record<string, string> = {
  'flows by start_at': `SELECT count(*) AS n, sum(bytes) AS bytes FROM flows WHERE start_at >= TIMESTAMP '2024-05-01 13:30:00' AND start_at < TIMESTAMP '2024-05-01 14:10:00'`,
  'flows by port and address': `SELECT flow_id FROM flows WHERE dst_port = 1433 AND src_ip > '10.0.1.0'`,
  'flows with null ports': `SELECT count(*) AS n FROM flows WHERE src_port IS NULL`,
  'violations by rule': `SELECT count(*) AS n FROM violations WHERE rule_id = 'no-admin-ports-from-internet'`,
  'alerts by hour': `SELECT count(*) AS n FROM alerts WHERE hour_at = TIMESTAMP '2024-05-01 13:00:00'`,
};
const FIRST_COMMIT_FILE = '_delta_log/\\d{20}\\.json$';

interface Scenario {
  name: string;
  root: string;
  /** What `netflow query` returns, per table that has a Delta log (and the OCSF view on the last scenario). */
  netflow: Record<string, CanonicalRows>;
  /** The tables with a Delta log in this scenario (every one, unless a job failed: a test of its own says so). */
  tables: TableDefinition[];
}

guards.any.describe('independent Delta readers read the lake exactly as netflow query does', { timeout: 1_200_000 }, () => {
  let lake: LakeFixture;
  let work: string;
  const scenarios: Scenario[] = [];
  const analyzed: Awaited<ReturnType<typeof runHourlyAnalytics>>[] = [];

  /** Copies the lake as it stands and reads every table of the copy through a netflow query session. */
  async function snapshot(name: string, withOcsf = false): Promise<void> {
    const root = path.join(work, name);
    await cp(path.join(lake.dir, 'lake'), root, { recursive: true });
    const tables = QUERYABLE_TABLES.filter((table) => existsSync(path.join(root, table.root, table.name, '_delta_log')));
    const relations = Object.fromEntries(tables.map((table) => [table.name, `"${table.name}"`]));
    if (withOcsf) {
      relations[OCSF_VIEW_NAME] = OCSF_VIEW_NAME;
      for (const [name, sql] of Object.entries(SKIPPING_QUERIES)) relations[name] = `(${sql})`;
    }
    const netflow = await netflowQueryRows(new LocalFolderStore(root), path.join(work, `${name}-work`), relations);
    expect(netflow.flows!.rows.length, name).toBeGreaterThan(0);
    scenarios.push({ name, root, netflow, tables });
  }

  async function commitVersions(root: string, table: string): Promise<{ commits: number[]; checkpoint: number | undefined }> {
    const log = path.join(root, 'curated', table, '_delta_log');
    const commits = (await readdir(log)).filter((file) => /^\d{20}\.json$/.test(file)).map((file) => Number(file.slice(0, 20)));
    const last = await readFile(path.join(log, '_last_checkpoint'), 'utf8').catch(() => undefined);
    return { commits, checkpoint: last ? (JSON.parse(last) as { version: number }).version : undefined };
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'netflow-interop-'));
    lake = await createLakeFixture({ config: { publish: { grace_period: '0s', checkpoint_interval: 3 }, locks: { lease: '10m', wait: '5m' } } });
    await deliverSamples({ store: lake.store });
    const configFile = path.join(lake.dir, 'config.json');
    await writeFile(configFile, JSON.stringify(lake.config));
    const analytics = async () =>
      void analyzed.push(
        await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date(`${HOUR_13}:00:00Z`), to: new Date('2024-05-01T15:00:00Z') }),
      );

    // The demo's hours and analytics, then a rerun of hour 13: its partitions replaced in one commit per table.
    for (const hour of [HOUR_13, HOUR_14]) expect((await lake.runHour(hour)).status).toBe('published');
    await analytics();
    expect((await lake.runHour(HOUR_13)).status).toBe('published');
    await snapshot('after-rerun');

    // A backfill of both hours while the scheduler runs hour 14: concurrent commits to every table.
    const overlapping = await Promise.all([lake.runHour(HOUR_13), lake.runHour(HOUR_14), lake.runHour(HOUR_14)]);
    expect(overlapping.map((result) => result.status)).toContain('published');
    await analytics();
    await snapshot('after-overlapping-backfill');

    // kill -9 after the data files of hour 13 are uploaded, before the first commit file.
    const runner = startRunner(configFile, HOUR_13);
    await runner.ready;
    runner.go({ killAtKey: FIRST_COMMIT_FILE, when: 'before' });
    const killed = await runner.exited;
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    await snapshot('after-kill-before-commit');

    // More commits until every table's last snapshot is a checkpoint plus commits after it.
    const acrossCheckpoint = async () => {
      for (const table of QUERYABLE_TABLES) {
        const { commits, checkpoint } = await commitVersions(path.join(lake.dir, 'lake'), table.name).catch(() => ({ commits: [], checkpoint: undefined }));
        if (checkpoint === undefined || Math.max(...commits) <= checkpoint) return false;
      }
      return true;
    };
    for (let more = 0; more < 3 && !(more > 0 && (await acrossCheckpoint())); more++) {
      expect((await lake.runHour(HOUR_14)).status).toBe('published');
      await analytics();
    }
    await snapshot('across-checkpoint', true);
  });
  afterAll(async () => {
    await lake?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('every table of the demo lake is a Delta table, the analytics tables included', () => {
    for (const run of analyzed) expect(run.status, [run.error, ...run.hours.map((hour) => hour.error)].filter(Boolean).join('; ')).toBe('published');
    expect(analyzed.length).toBeGreaterThanOrEqual(3);
    for (const scenario of scenarios)
      expect(
        scenario.tables.map((table) => table.name),
        scenario.name,
      ).toEqual(QUERYABLE_TABLES.map((table) => table.name));
  });

  it("the scenarios hold what they are named for: a killed attempt's files, and checkpoints with commits after them", async () => {
    const [, beforeKill, afterKill, last] = scenarios;
    const parquetOf = async (root: string) => (await readdir(path.join(root, 'curated', 'flows', 'dt=2024-05-01', 'hour=13'))).filter((file) => file.endsWith('.parquet')).length;
    expect(await parquetOf(afterKill!.root)).toBeGreaterThan(await parquetOf(beforeKill!.root));
    expect(afterKill!.netflow.flows!.rows.map(rowKey).sort()).toEqual(beforeKill!.netflow.flows!.rows.map(rowKey).sort());
    for (const table of last!.tables) {
      const { commits, checkpoint } = await commitVersions(last!.root, table.name);
      expect(checkpoint, table.name).toBeDefined();
      expect(Math.max(...commits), table.name).toBeGreaterThan(checkpoint!);
    }
  });

  guards.deltalake.it('delta-rs reads every table of every scenario as netflow query does', { timeout: 600_000 }, async () => {
    const tables = Object.fromEntries(scenarios.flatMap((scenario) => scenario.tables.map((table) => [`${scenario.name}/${table.name}`, path.join(scenario.root, table.root, table.name)])));
    const result = await readWithPython(readers, work, { reader: 'deltalake', tables });
    const problems = scenarios.flatMap((scenario) =>
      scenario.tables.flatMap((table) => tableDifferences(`${scenario.name}/${table.name}`, scenario.netflow[table.name]!, result.tables[`${scenario.name}/${table.name}`])),
    );
    expect(problems).toEqual([]);
  });

  guards.spark.it('Spark reads them too, and runs the Spark DDL of netflow ddl, tables and OCSF view', { timeout: 1_200_000 }, async () => {
    const last = scenarios.at(-1)!;
    const byPath = scenarios.slice(0, -1).flatMap((scenario) => scenario.tables.map((table) => [`${scenario.name}/${table.name}`, path.join(scenario.root, table.root, table.name)]));
    const byName = [...last.tables.map((table) => table.name), OCSF_VIEW_NAME].map((name) => [`${last.name}/${name}`, `netflow.${name}`]);
    const ddl = engineDdl({ engine: 'spark', location: last.root, schema: 'netflow', catalog: 'delta', tables: last.tables, ocsfView: true });
    const queries = Object.fromEntries(Object.entries(SKIPPING_QUERIES).map(([name, sql]) => [`${last.name}/${name}`, sql]));
    const result = await readWithPython(readers, work, { reader: 'spark', tables: Object.fromEntries([...byPath, ...byName]), spark_ddl: ddl, spark_queries: queries });
    const problems = scenarios.flatMap((scenario) =>
      Object.keys(scenario.netflow).flatMap((name) => tableDifferences(`${scenario.name}/${name}`, scenario.netflow[name]!, result.tables[`${scenario.name}/${name}`])),
    );
    expect(problems).toEqual([]);
  });
});
