import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestFile } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { commitPartition } from '../delta/commit-partition.ts';
import type { AddAction } from '../delta/delta-actions.ts';
import { computeFileStats, type FileStats } from '../delta/file-stats.ts';
import { tableRoot } from '../delta/log-keys.ts';
import { tidyTable } from '../delta/table-housekeeping.ts';
import type { Logger } from '../log/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { PartitionRef } from './partition-keys.ts';

export interface StagedTableFile {
  localPath: string;
  rows: number;
  /** The file's stats when the writer computed them already (the export does, in its session); else publish computes them. */
  stats?: FileStats;
}

export interface StagedTable {
  table: TableDefinition;
  files: StagedTableFile[];
}

export interface PublishedTable {
  table: string;
  /** The Delta commit that published the partition (`_delta_log/<version>.json`). */
  manifestKey: string;
  version: number;
  rows: number;
  files: ManifestFile[];
  /** Data files deleted by this publish because a commit removed them longer than the grace period ago. */
  collected: string[];
}

export interface PublishOptions {
  store: ObjectStore;
  partition: PartitionRef;
  runId: string;
  attemptId: string;
  tables: StagedTable[];
  logger: Logger;
  now?: () => Date;
  /** Files a commit removes are deleted this long after it (default 0). */
  gracePeriodMs?: number;
  /** A checkpoint every this many commits of a table (default 10). */
  checkpointInterval?: number;
  /** Log files a checkpoint covers are deleted once older than this (default 30 days). */
  logRetentionMs?: number;
  /** Runs before each commit and throws when this runner may no longer publish (it lost its partition lock). */
  beforeCommit?: () => Promise<void>;
  /** Durations of the publishing steps (files, stats, commits, housekeeping), added to. */
  durationsMs?: Record<string, number>;
  /** Told after each table committed (done of all tables), for a progress line. */
  onTablePublished?: (done: number, total: number) => void;
}

/** Relative to the table root: the Hive partition folder and a name unique to the attempt. */
export function dataFilePath(partition: PartitionRef, attemptId: string, index: number): string {
  return `dt=${partition.dt}/hour=${partition.hour}/part-${String(index).padStart(5, '0')}-${attemptId}.parquet`;
}

/**
 * Publishes one partition of every staged table as a Delta commit per table: the data files go
 * to keys unique to this attempt (with their stats and SHA-256 in the `add` action), then each
 * table's commit removes the partition's current files and adds the new ones (lib/delta). A run
 * that fails before a table's commit deletes that table's uploaded files again: it published
 * nothing there. After each commit, removed files past the grace period are deleted and, every
 * `checkpointInterval` versions, a checkpoint is written (lib/delta/table-housekeeping.ts).
 */
export async function publishPartition(options: PublishOptions): Promise<PublishedTable[]> {
  const { store, partition, runId, attemptId, logger } = options;
  const now = options.now ?? (() => new Date());
  const durations = options.durationsMs ?? {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      durations[name] = (durations[name] ?? 0) + Math.round(performance.now() - started);
    }
  };
  const flat = options.tables.flatMap((staged) => staged.files.map((file, index) => ({ staged, file, index })));
  const workDir = path.dirname(path.resolve(flat[0]?.file.localPath ?? '.'));
  // Every file at once, each hashed while it is uploaded, the stats computed meanwhile; settled
  // before anything throws, so that no upload still reads a file the caller removes on failure.
  const [stats, uploaded] = await settleAll([
    timed('publish:stats', () => statsOf(flat, workDir)),
    timed('publish:files', () =>
      settleAll(
        flat.map(async ({ staged, file, index }) => {
          const relative = dataFilePath(partition, attemptId, index);
          const key = `${tableRoot(staged.table)}${relative}`;
          const [sha256, local] = await settleAll([sha256File(file.localPath), stat(file.localPath), store.putFile(key, file.localPath, { contentType: 'application/vnd.apache.parquet' })]);
          return { relative, file: { key, rows: file.rows, bytes: local.size, sha256 } satisfies ManifestFile };
        }),
      ),
    ),
  ]).catch(async (error: unknown) => {
    await deleteKeys(
      store,
      flat.map(({ staged, index }) => `${tableRoot(staged.table)}${dataFilePath(partition, attemptId, index)}`),
    );
    throw error;
  });
  const published: PublishedTable[] = [];
  let position = 0;
  for (const [tableIndex, staged] of options.tables.entries()) {
    const entries = staged.files.map((_, index) => ({ upload: uploaded[position + index]!, stats: stats[position + index]! }));
    position += staged.files.length;
    const at = now().getTime();
    const adds: AddAction[] = entries.map(({ upload, stats: fileStats }) => ({
      path: upload.relative,
      partitionValues: { dt: partition.dt, hour: partition.hour },
      size: upload.file.bytes,
      modificationTime: at,
      dataChange: true,
      stats: JSON.stringify(fileStats),
      tags: { sha256: upload.file.sha256, run_id: runId, attempt_id: attemptId, rows: String(upload.file.rows) },
    }));
    let commit;
    try {
      commit = await timed('publish:commits', () =>
        commitPartition(store, {
          table: staged.table,
          partition,
          adds,
          runId,
          attemptId,
          operation: 'WRITE',
          now,
          gracePeriodMs: options.gracePeriodMs ?? 0,
          logRetentionMs: options.logRetentionMs ?? THIRTY_DAYS_MS,
          checkpointInterval: options.checkpointInterval ?? 10,
          ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
        }),
      );
    } catch (error) {
      // This table and the ones after it were not committed: their files are nobody's.
      await deleteKeys(
        store,
        options.tables.slice(tableIndex).flatMap((later) => later.files.map((_, index) => `${tableRoot(later.table)}${dataFilePath(partition, attemptId, index)}`)),
      );
      throw error;
    }
    const tidied = await timed('publish:housekeeping', () =>
      tidyTable(store, staged.table, commit.snapshot, {
        checkpointInterval: options.checkpointInterval ?? 10,
        gracePeriodMs: options.gracePeriodMs ?? 0,
        logRetentionMs: options.logRetentionMs ?? THIRTY_DAYS_MS,
        now: now(),
        partition,
      }).catch((error: unknown) => {
        logger.warn('table housekeeping failed; retried after the next commit', { table: staged.table.name, error: (error as Error).message });
        return { deletedFiles: [], deletedLogFiles: [], checkpoint: undefined };
      }),
    );
    options.onTablePublished?.(tableIndex + 1, options.tables.length);
    const files = entries.map(({ upload }) => upload.file);
    const rows = files.reduce((sum, file) => sum + file.rows, 0);
    logger.info('partition published', {
      table: staged.table.name,
      dt: partition.dt,
      hour: partition.hour,
      rows,
      attempt_id: attemptId,
      version: commit.version,
      retries: commit.retries,
      removed: commit.removed.length,
      collected: tidied.deletedFiles.length,
      ...(tidied.checkpoint ? { checkpoint: tidied.checkpoint.version } : {}),
    });
    published.push({ table: staged.table.name, manifestKey: commit.key, version: commit.version, rows, files, collected: tidied.deletedFiles });
  }
  return published;
}

/** Each file's stats: the ones the writer gave, the others computed in one DuckDB session. */
async function statsOf(files: readonly { staged: StagedTable; file: StagedTableFile }[], workDir: string): Promise<FileStats[]> {
  const missing = files.filter(({ file }) => !file.stats);
  const computed = await computeFileStats(
    missing.map(({ staged, file }) => ({ table: staged.table, localPath: file.localPath })),
    workDir,
  );
  return files.map(({ file }) => file.stats ?? computed[missing.findIndex((entry) => entry.file === file)]!);
}

const THIRTY_DAYS_MS = 30 * 86_400_000;

async function deleteKeys(store: ObjectStore, keys: readonly string[]): Promise<void> {
  await Promise.allSettled(keys.map((key) => store.delete(key)));
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Promise.all, but only once every promise has settled: the first rejection, else the values. */
async function settleAll<T extends readonly unknown[] | []>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results: readonly PromiseSettledResult<unknown>[] = await Promise.allSettled(promises as readonly unknown[]);
  const values: unknown[] = [];
  for (const result of results) {
    if (result.status === 'rejected') throw result.reason;
    values.push(result.value);
  }
  return values as { -readonly [K in keyof T]: Awaited<T[K]> };
}
