import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { backfill } from '../../orchestration/backfill.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { count, FULL, reportFigures } from './support/reliability-run.ts';

/**
 * Suite 2 of issue 8: every sample hour run three times (forced, so the models really run) and
 * a backfill of all of them twice give identical rows (npm test: one hour, 2 runs, 1 backfill) in every published table; a rerun on
 * unchanged inputs is a no-op (skipped, no new version, manifests untouched).
 */
const HOURS = FULL ? ['2024-05-01T12', '2024-05-01T13', '2024-05-01T14', '2024-05-01T15'] : ['2024-05-01T13'];
const RUNS = count(3, 2);
const BACKFILLS = count(2, 1);
/** Per hour and table, the distinct SHA-256 sets of the published files (byte-level, reported). */
const fileDigests: Record<string, Set<string>> = {};

describe('rerun and backfill determinism over the samples', () => {
  let lake: LakeFixture;
  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
  });
  afterAll(() => lake?.cleanup());

  /** SHA-256 of each published table's rows for the hour (all columns, sorted), read from the files its manifest names. */
  async function digests(hour: string): Promise<Record<string, string>> {
    const [dt, hh] = hour.split('T') as [string, string];
    const out: Record<string, string> = {};
    const session = await DuckDbSession.open({ workDir: path.join(lake.dir, 'digest-work'), readableDirs: [path.join(lake.dir, 'lake')], memoryLimit: '512MB', maxTempDirectorySize: '1GB' });
    try {
      for (const table of PUBLISHED_TABLES) {
        const manifest = await readPublishedPartition(lake.store, table, { dt, hour: hh });
        if (!manifest) {
          out[table.name] = 'unpublished';
          continue;
        }
        const files = manifest.files.map((file) => sqlString(lake.store.localPathOf!(file.key)!));
        const reader = `read_parquet([${files.join(', ')}], hive_partitioning = false)`;
        const rows = files.length === 0 ? [] : await session.all(`SELECT * FROM ${reader}`);
        const bytes = manifest.files.map((file) => file.sha256).join(',');
        // Rows as a sorted multiset of JSON lines: equal rows in another order are the same partition.
        const lines = rows.map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
        out[table.name] = `${rows.length} rows ${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
        fileDigests[`${hour} ${table.name}`] ??= new Set();
        fileDigests[`${hour} ${table.name}`]!.add(createHash('sha256').update(bytes).digest('hex').slice(0, 16));
      }
    } finally {
      session.close();
    }
    return out;
  }

  it(`${HOURS.length} hours × ${RUNS} forced runs, then ${BACKFILLS} forced backfills: identical rows; unchanged reruns are no-ops`, async () => {
    const byHour: Record<string, Record<string, string>[]> = {};
    const runIds: Record<string, Set<string>> = {};
    for (const hour of HOURS) {
      for (let run = 0; run < RUNS; run++) {
        const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(`${hour}:00:00Z`), trigger: 'test' });
        expect(result.error ?? result.status, hour).toBe('published');
        (runIds[hour] ??= new Set()).add(result.runId);
        (byHour[hour] ??= []).push(await digests(hour));
      }
    }
    const from = new Date(`${HOURS[0]}:00:00Z`);
    const to = new Date(`${HOURS.at(-1)}:00:00Z`); // backfill ranges include their last hour
    for (let round = 0; round < BACKFILLS; round++) {
      const result = await backfill({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from, to, parallel: 2, force: true });
      expect(result.failed).toEqual([]);
      expect(result.published.length).toBe(HOURS.length);
      for (const hour of HOURS) byHour[hour]!.push(await digests(hour));
    }
    let compared = 0;
    let differing = 0;
    const differences: string[] = [];
    for (const hour of HOURS) {
      byHour[hour]!.forEach((digest, index) => {
        compared++;
        const tables = Object.keys(digest).filter((name) => digest[name] !== byHour[hour]![0]![name]);
        if (tables.length > 0) differing++;
        for (const name of tables) differences.push(`${hour} run ${index}: ${name} ${byHour[hour]![0]![name]} -> ${digest[name]}`);
      });
    }
    // Unchanged inputs: an unforced rerun and an unforced backfill do nothing.
    const manifestsBefore = await Promise.all(HOURS.map((hour) => readPublishedPartition(lake.store, PUBLISHED_TABLES[0]!, { dt: hour.slice(0, 10), hour: hour.slice(11) })));
    const rerun = await runHourAndRecord({
      config: lake.config,
      baseDir: lake.dir,
      store: lake.store,
      logger: lake.logger,
      hour: new Date(`${HOURS.at(-1)}:00:00Z`),
      trigger: 'test',
      skipWhenPublished: true,
    });
    const quiet = await backfill({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from, to, parallel: 2, force: false });
    const manifestsAfter = await Promise.all(HOURS.map((hour) => readPublishedPartition(lake.store, PUBLISHED_TABLES[0]!, { dt: hour.slice(0, 10), hour: hour.slice(11) })));
    reportFigures('rerun-determinism', {
      hours: HOURS.length,
      forced_runs_per_hour: RUNS,
      backfills: BACKFILLS,
      digests_compared: compared,
      digests_differing: differing,
      run_ids_per_hour: Object.fromEntries(Object.entries(runIds).map(([h, ids]) => [h, ids.size])),
      flows_per_hour: Object.fromEntries(HOURS.map((h) => [h, byHour[h]![0]!.flows])),
      differences: differences.slice(0, 12),
      byte_identical_files: Object.fromEntries(Object.entries(fileDigests).map(([k, v]) => [k, v.size === 1])),
      unforced_rerun: rerun.status,
      unforced_backfill_skipped: quiet.skipped.length,
      unforced_backfill_published: quiet.published.length,
    });
    expect(differing).toBe(0);
    for (const hour of HOURS) expect(runIds[hour]!.size, hour).toBe(1);
    expect(rerun.status).toBe('skipped');
    expect(quiet.published).toEqual([]);
    expect(quiet.skipped.length).toBe(HOURS.length);
    expect(manifestsAfter).toEqual(manifestsBefore);
  }, 1800_000);
});
