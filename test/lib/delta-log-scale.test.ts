import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitPartition } from '../../lib/delta/commit-partition.ts';
import type { AddAction } from '../../lib/delta/delta-actions.ts';
import { loadSnapshot } from '../../lib/delta/delta-log.ts';
import { checkpointKey, lastCheckpointKey } from '../../lib/delta/log-keys.ts';
import { emptySnapshot } from '../../lib/delta/snapshot.ts';
import { writeCheckpoint } from '../../lib/delta/table-housekeeping.ts';
import { sha256File } from '../../lib/publish/publish-partition.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import { datesOfRange, partitionRange } from '../../lib/query/read-range.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { trafficMatrixTable } from '../../schemas/tables/index.ts';
import { writeSyntheticFile } from '../support/synthetic-table-file.ts';

/**
 * A year of hourly commits to one table (8,760), checkpointed every 10 as the writer does: the
 * latest snapshot loads from the newest checkpoint and the few commits after it, and a query of
 * one day opens that day's 24 files and no other (the other 8,736 files do not even exist, so
 * touching one would fail).
 */
const table = trafficMatrixTable;
const COMMITS = 8_760;
const CHECKPOINT_INTERVAL = 10;
const DAY = '2024-03-05';
const HOUR_MS = 3_600_000;

let dir: string;
let store: LocalFolderStore;
let checkpointMs = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-delta-year-'));
  store = new LocalFolderStore(path.join(dir, 'lake'));
  const file = await writeSyntheticFile({ table, dir, name: 'hour', rows: 3, hour: `${DAY}T00`, marker: 'year' });
  const size = (await stat(file.localPath)).size;
  const sha256 = await sha256File(file.localPath);
  let snapshot = emptySnapshot();
  const started = performance.now();
  for (let version = 0; version < COMMITS; version++) {
    const hour = new Date(Date.UTC(2024, 0, 1) + version * HOUR_MS).toISOString();
    const partition = { dt: hour.slice(0, 10), hour: hour.slice(11, 13) };
    const relative = `dt=${partition.dt}/hour=${partition.hour}/part-00000-y${version}.parquet`;
    // Only the queried day's files exist.
    if (partition.dt === DAY) await store.putFile(`curated/${table.name}/${relative}`, file.localPath);
    const add: AddAction = {
      path: relative,
      partitionValues: partition,
      size,
      modificationTime: Date.parse(hour),
      dataChange: true,
      stats: JSON.stringify(file.stats),
      tags: { sha256, run_id: `run-${version}`, rows: '3' },
    };
    const committed = await commitPartition(store, {
      table,
      partition,
      adds: [add],
      runId: `run-${version}`,
      attemptId: `y${version}`,
      operation: 'WRITE',
      now: () => new Date(hour),
      gracePeriodMs: HOUR_MS,
      logRetentionMs: 30 * 24 * HOUR_MS,
      checkpointInterval: CHECKPOINT_INTERVAL,
      snapshot,
    });
    snapshot = committed.snapshot;
    // The writer checkpoints every 10 versions; the ones a reader of the latest version needs are enough here.
    if (version === COMMITS - (COMMITS % CHECKPOINT_INTERVAL) - CHECKPOINT_INTERVAL || version === COMMITS - (COMMITS % CHECKPOINT_INTERVAL)) {
      const checkpointStarted = performance.now();
      await writeCheckpoint(store, table, snapshot, 0);
      checkpointMs = performance.now() - checkpointStarted;
    }
  }
  console.info(`[figures] delta-log-scale: ${COMMITS} commits written in ${Math.round(performance.now() - started)} ms; the checkpoint of version 8,750 written in ${Math.round(checkpointMs)} ms`);
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe(`a table with ${COMMITS} hourly commits`, () => {
  it('loads its latest snapshot from the newest checkpoint and the commits after it', async () => {
    const lastCheckpoint = JSON.parse((await store.getBytes(lastCheckpointKey(table)))!.toString('utf8'));
    expect(lastCheckpoint).toMatchObject({ version: 8_750, size: 2 + 8_751, numOfAddFiles: 8_751 });
    const checkpointBytes = (await store.head(checkpointKey(table, 8_750)))!.size;
    const timings: number[] = [];
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const snapshot = await loadSnapshot(store, table);
      timings.push(performance.now() - started);
      expect(snapshot.version).toBe(COMMITS - 1);
      expect(snapshot.files.size).toBe(COMMITS);
      expect(snapshot.metaData?.partitionColumns).toEqual(['dt', 'hour']);
      // Commits after the checkpoint were read from JSON, the rest came from the checkpoint.
      expect([...snapshot.commits.keys()]).toEqual([8_751, 8_752, 8_753, 8_754, 8_755, 8_756, 8_757, 8_758, 8_759]);
    }
    console.info(
      `[figures] delta-log-scale: latest snapshot of ${COMMITS} commits loads in ${timings.map((ms) => Math.round(ms)).join(' / ')} ms (checkpoint ${checkpointBytes} bytes, ${lastCheckpoint.size} actions)`,
    );
  });

  it("a --from/--to query over one day opens only that day's files", async () => {
    const range = partitionRange(`${DAY}T00`, `${DAY}T23`)!;
    const lake = await openLakeSession({
      store,
      workDir: path.join(dir, 'work'),
      memoryLimit: '256MB',
      maxTempDirectorySize: '256MB',
      includePartition: (_table, partition) => range(partition),
      dates: datesOfRange(`${DAY}T00`, `${DAY}T23`)!,
    });
    try {
      const opened = lake.files[table.name]!;
      expect(opened).toHaveLength(24);
      for (const file of opened) expect(file).toContain(`/dt=${DAY}/hour=`);
      expect(await lake.session.all(`SELECT dt, count(*) AS n, count(DISTINCT hour) AS hours FROM ${table.name} GROUP BY dt`)).toEqual([{ dt: DAY, n: 72n, hours: 24n }]);
      expect(lake.versions[table.name]).toBe(COMMITS - 1);
    } finally {
      await lake.close();
    }
  });
});
