import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommitConflictError } from '../../lib/delta/commit-partition.ts';
import { loadSnapshot, readCommit } from '../../lib/delta/delta-log.ts';
import { schemaStringOf } from '../../lib/delta/delta-schema.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { publishPartition, type StagedTableFile } from '../../lib/publish/publish-partition.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { trafficMatrixTable } from '../../schemas/tables/index.ts';
import { azure, localFolder, s3 } from '../support/store-adapters.ts';
import { writeSyntheticFile } from '../support/synthetic-table-file.ts';

/**
 * The Delta commit protocol on every object store: a publish is one commit per table, created
 * only if absent; concurrent writers of other hours all land, two of one hour cannot both, and a
 * reader holding a snapshot reads it whole until the grace period of the files it names ends.
 */
const table = trafficMatrixTable;
const logger = createLogger({ level: 'error', write: () => {} });
const HOUR_MS = 3_600_000;

let dir: string;
const files = new Map<string, StagedTableFile>();
/** A data file of the hour whose rows carry `marker` as their run id. */
async function fileOf(hour: string, marker: string): Promise<StagedTableFile> {
  const name = `${hour}-${marker}`;
  if (!files.has(name)) files.set(name, await writeSyntheticFile({ table, dir, name, rows: 3, hour, marker }));
  return files.get(name)!;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-delta-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const partitionOfHour = (hour: string) => ({ dt: hour.slice(0, 10), hour: hour.slice(11, 13) });
const publish = async (store: ObjectStore, hour: string, marker: string, extra: { now?: () => Date; gracePeriodMs?: number } = {}) =>
  publishPartition({ store, partition: partitionOfHour(hour), runId: marker, attemptId: `a-${marker}`, tables: [{ table, files: [await fileOf(hour, marker)] }], logger, ...extra });

/** A store whose commit writes wait until `writers` of them have arrived: every writer read the same log first. */
function gatedStore(store: ObjectStore, writers: number): ObjectStore {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let waiting = 0;
  return Object.create(store, {
    putBytes: {
      value: async (key: string, body: Buffer | string, options?: { createOnly?: boolean }) => {
        if (options?.createOnly && key.includes('/_delta_log/')) {
          if (++waiting === writers) release();
          await gate;
        }
        return store.putBytes(key, body, options);
      },
    },
  }) as ObjectStore;
}

describe.each([localFolder, s3, azure])('Delta commits on $name', (adapter) => {
  beforeAll(() => adapter.start(), 60_000);
  afterAll(() => adapter.stop());

  it('publishes a partition as one commit: protocol, metaData from schemas/, an add with partition values, size, stats and hash', async () => {
    const store = await adapter.newStore();
    const [published] = await publish(store, '2024-05-01T13', 'run-1');
    expect(published!.manifestKey).toBe('curated/traffic_matrix/_delta_log/00000000000000000000.json');
    const actions = (await readCommit(store, table, 0))!;
    expect(actions.map((action) => Object.keys(action)[0])).toEqual(['commitInfo', 'protocol', 'metaData', 'add']);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- four action shapes, each checked field by field below
    const [commitInfo, protocol, metaData, add] = actions as [any, any, any, any];
    expect(commitInfo.commitInfo).toMatchObject({ operation: 'WRITE', run_id: 'run-1', attempt_id: 'a-run-1', hour: '2024-05-01T13', readVersion: -1 });
    expect(protocol.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    expect(metaData.metaData).toMatchObject({ format: { provider: 'parquet', options: {} }, schemaString: schemaStringOf(table), partitionColumns: ['dt', 'hour'] });
    const file = await fileOf('2024-05-01T13', 'run-1');
    expect(add.add).toMatchObject({
      path: 'dt=2024-05-01/hour=13/part-00000-a-run-1.parquet',
      partitionValues: { dt: '2024-05-01', hour: '13' },
      dataChange: true,
      tags: { sha256: published!.files[0]!.sha256, run_id: 'run-1' },
    });
    const stats = JSON.parse(add.add.stats);
    expect(stats).toMatchObject({ numRecords: 3, nullCount: { run_id: 0 }, minValues: { hour_at: '2024-05-01T13:00:00.000Z', run_id: 'run-1' }, maxValues: { hour_at: '2024-05-01T13:00:02.000Z' } });
    expect(add.add.size).toBe((await store.head('curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-run-1.parquet'))!.size);
    // The data file: no partition columns, timestamps adjusted to UTC (Delta's timestamp, not timestamp_ntz).
    const local = path.join(dir, `check-${adapter.name.replace(/\W/g, '')}.parquet`);
    await store.getToFile('curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-run-1.parquet', local);
    const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
    try {
      const schema = await session.all<{ name: string; logical_type: string | null }>(`SELECT name, logical_type FROM parquet_schema(${sqlString(local)})`);
      expect(schema.map((column) => column.name)).not.toContain('dt');
      expect(schema.find((column) => column.name === 'hour_at')!.logical_type).toContain('isAdjustedToUTC=1');
    } finally {
      session.close();
    }
    expect(file.rows).toBe(3);
  });

  it('50 concurrent commits to different hours of one table all land', async () => {
    const store = await adapter.newStore();
    const hours = Array.from({ length: 50 }, (_, i) => new Date(Date.UTC(2024, 4, 1) + i * HOUR_MS).toISOString().slice(0, 13));
    for (const hour of hours) await fileOf(hour, `c-${hour}`);
    const started = performance.now();
    const results = await Promise.all(hours.map((hour) => publish(store, hour, `c-${hour}`)));
    const elapsed = performance.now() - started;
    const snapshot = await loadSnapshot(store, table);
    expect(snapshot.version).toBe(49);
    expect(new Set(results.map(([result]) => result!.version)).size).toBe(50);
    expect([...snapshot.files.values()].map((add) => `${add.partitionValues.dt}T${add.partitionValues.hour}`).sort()).toEqual(hours);
    console.info(`[figures] delta-commit ${adapter.name}: 50 concurrent commits in ${Math.round(elapsed)} ms (${Math.round(elapsed / 50)} ms per commit)`);
  }, 120_000);

  it('two commits to the same hour: one wins, the other fails naming both runs and publishes nothing', async () => {
    const store = await adapter.newStore();
    await publish(store, '2024-05-01T12', 'before');
    const gated = gatedStore(store, 2);
    const outcomes = await Promise.allSettled([publish(gated, '2024-05-01T13', 'left'), publish(gated, '2024-05-01T13', 'right')]);
    const won = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const [winner, loser] = won === 0 ? ['left', 'right'] : ['right', 'left'];
    const failure = (outcomes[1 - won] as PromiseRejectedResult).reason as Error;
    expect(failure).toBeInstanceOf(CommitConflictError);
    expect(failure.message).toContain(`run ${winner}`);
    expect(failure.message).toContain(`run ${loser} published nothing`);
    const snapshot = await loadSnapshot(store, table);
    expect(snapshot.version).toBe(1);
    expect([...snapshot.files.keys()].sort()).toEqual([`dt=2024-05-01/hour=12/part-00000-a-before.parquet`, `dt=2024-05-01/hour=13/part-00000-a-${winner}.parquet`]);
    // The loser's data file was deleted again.
    expect(await store.head(`curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-${loser}.parquet`)).toBeUndefined();
  });

  it('a commit whose response was lost is resolved by reading it back: it names this attempt, so it won', async () => {
    const store = await adapter.newStore();
    const lossy: ObjectStore = Object.create(store, {
      putBytes: {
        value: async (key: string, body: Buffer | string, options?: { createOnly?: boolean }) => {
          const info = await store.putBytes(key, body, options);
          if (options?.createOnly && key.includes('/_delta_log/')) throw new Error('socket hang up (the commit landed, its answer did not)');
          return info;
        },
      },
    }) as ObjectStore;
    const [published] = await publish(lossy, '2024-05-01T13', 'lost-answer');
    expect(published!.version).toBe(0);
    const snapshot = await loadSnapshot(store, table);
    expect([...snapshot.files.keys()]).toEqual(['dt=2024-05-01/hour=13/part-00000-a-lost-answer.parquet']);
    expect(await store.head('curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-lost-answer.parquet')).toBeDefined();
  });

  it('a reader holding version N reads it whole while N+1 is published, until the grace period ends', async () => {
    const store = await adapter.newStore();
    let clock = new Date('2024-05-01T14:05:00Z');
    const now = () => clock;
    await publish(store, '2024-05-01T13', 'old', { now, gracePeriodMs: HOUR_MS });
    const reader = await openLakeSession({ store, workDir: path.join(dir, `reader-${adapter.name.replace(/\W/g, '')}`), memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
    try {
      const read = () => reader.session.all<{ run_id: string; n: bigint }>(`SELECT run_id, count(*) AS n FROM traffic_matrix GROUP BY run_id`);
      expect(reader.versions.traffic_matrix).toBe(0);
      clock = new Date(clock.getTime() + 60_000);
      await publish(store, '2024-05-01T13', 'new', { now, gracePeriodMs: HOUR_MS });
      expect(await read()).toEqual([{ run_id: 'old', n: 3n }]);
      expect(await store.head('curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-old.parquet')).toBeDefined();
      // Another hour's publish within the grace period keeps the replaced file; one after it deletes it.
      clock = new Date(clock.getTime() + 30 * 60_000);
      await publish(store, '2024-05-01T14', 'later', { now, gracePeriodMs: HOUR_MS });
      expect(await read()).toEqual([{ run_id: 'old', n: 3n }]);
      clock = new Date(clock.getTime() + HOUR_MS);
      const [last] = await publish(store, '2024-05-01T15', 'last', { now, gracePeriodMs: HOUR_MS });
      expect(last!.collected).toEqual(['curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-old.parquet']);
      expect(await store.head('curated/traffic_matrix/dt=2024-05-01/hour=13/part-00000-a-old.parquet')).toBeUndefined();
    } finally {
      await reader.close();
    }
    const fresh = await openLakeSession({ store, workDir: path.join(dir, `fresh-${adapter.name.replace(/\W/g, '')}`), memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
    try {
      expect(await fresh.session.all(`SELECT run_id, dt, hour, count(*) AS n FROM traffic_matrix GROUP BY ALL ORDER BY hour`)).toEqual([
        { run_id: 'new', dt: '2024-05-01', hour: '13', n: 3n },
        { run_id: 'later', dt: '2024-05-01', hour: '14', n: 3n },
        { run_id: 'last', dt: '2024-05-01', hour: '15', n: 3n },
      ]);
    } finally {
      await fresh.close();
    }
  });
});
