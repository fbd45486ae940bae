import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Manifest, ManifestFile } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import type { Logger } from '../log/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { commitManifest } from './commit-manifest.ts';
import { readManifest } from './manifest-store.ts';
import { manifestKey, partitionPrefix, versionPrefix, type PartitionRef } from './partition-keys.ts';

export interface StagedTableFile {
  localPath: string;
  rows: number;
}

export interface StagedTable {
  table: TableDefinition;
  files: StagedTableFile[];
}

export interface PublishedTable {
  table: string;
  manifestKey: string;
  rows: number;
  files: ManifestFile[];
  /** Keys of superseded versions deleted by this publish. */
  collected: string[];
}

/**
 * Atomic publish of one partition: data files go to keys unique to this attempt, then each
 * table's manifest is replaced in one PUT. The replaced version stays for readers that resolved
 * it a moment ago; older versions (and folders of attempts that never committed) are collected
 * once they have been unreachable for the grace period.
 *
 * `beforeCommit` runs right before each manifest PUT and throws when this runner may no longer
 * publish (it lost its partition lock): the manifest is then left as it was.
 */
export async function publishPartition(options: {
  store: ObjectStore;
  partition: PartitionRef;
  runId: string;
  attemptId: string;
  tables: StagedTable[];
  logger: Logger;
  now?: () => Date;
  /** Superseded versions older than the replaced one are deleted once unreachable this long (default 0). */
  gracePeriodMs?: number;
  beforeCommit?: () => Promise<void>;
}): Promise<PublishedTable[]> {
  const { store, partition, runId, attemptId, logger } = options;
  // Every file at once, each hashed while it is uploaded: the flows file alone is hundreds of
  // megabytes an hour. Settled before anything throws, so that no upload still reads a file the
  // caller removes when the run fails.
  const uploaded = await settleAll(
    options.tables.map(async (staged) => ({
      staged,
      files: await settleAll(
        staged.files.map(async (file, index): Promise<ManifestFile> => {
          const extension = staged.table.format === 'parquet' ? 'parquet' : 'ndjson';
          const key = `${versionPrefix(staged.table, partition, attemptId)}part-${String(index).padStart(5, '0')}.${extension}`;
          const [sha256, local] = await settleAll([
            sha256File(file.localPath),
            stat(file.localPath),
            store.putFile(key, file.localPath, { contentType: staged.table.format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/x-ndjson' }),
          ]);
          return { key, rows: file.rows, bytes: local.size, sha256 };
        }),
      ),
    })),
  );
  const published: PublishedTable[] = [];
  for (const { staged, files } of uploaded) {
    const previous = await readManifest(store, staged.table, partition);
    const manifest: Manifest = {
      manifest_version: 1,
      table: staged.table.name,
      schema_version: staged.table.schemaVersion,
      format: staged.table.format,
      dt: partition.dt,
      hour: partition.hour,
      run_id: runId,
      attempt_id: attemptId,
      committed_at: (options.now?.() ?? new Date()).toISOString(),
      rows: files.reduce((sum, file) => sum + file.rows, 0),
      files,
      previous_attempt_id: previous?.attempt_id ?? null,
    };
    const key = manifestKey(staged.table, partition);
    await options.beforeCommit?.();
    // Conditional: of writers racing from the same state exactly one commits (commit-manifest.ts).
    await commitManifest(store, staged.table, partition, manifest);
    const collected = await collectSuperseded(store, staged.table, partition, new Set([attemptId, previous?.attempt_id].filter((id): id is string => Boolean(id))), {
      gracePeriodMs: options.gracePeriodMs ?? 0,
      unreachableSince: new Date(manifest.committed_at),
      now: options.now?.() ?? new Date(),
    });
    logger.info('partition published', { table: staged.table.name, dt: partition.dt, hour: partition.hour, rows: manifest.rows, attempt_id: attemptId, collected: collected.length });
    published.push({ table: staged.table.name, manifestKey: key, rows: manifest.rows, files, collected });
  }
  return published;
}

/**
 * Deletes the version folders of the partition other than the ones to keep, once they have been
 * unreachable for the grace period: a version stopped being reachable no later than the current
 * manifest's commit (`unreachableSince`), and an attempt that never committed never was, so a
 * folder goes when both that moment and its newest object are older than the grace period.
 * Returns the deleted keys.
 */
export async function collectSuperseded(
  store: ObjectStore,
  table: TableDefinition,
  partition: PartitionRef,
  keep: ReadonlySet<string>,
  grace: { gracePeriodMs: number; unreachableSince: Date; now: Date } = { gracePeriodMs: 0, unreachableSince: new Date(0), now: new Date() },
): Promise<string[]> {
  const prefix = partitionPrefix(table, partition);
  const candidates = new Map<string, { keys: string[]; newest: number }>();
  for await (const object of store.list(`${prefix}version=`)) {
    const attempt = /^version=([^/]+)\//.exec(object.key.slice(prefix.length))?.[1];
    if (!attempt || keep.has(attempt)) continue;
    const folder = candidates.get(attempt) ?? { keys: [], newest: 0 };
    folder.keys.push(object.key);
    folder.newest = Math.max(folder.newest, object.lastModified.getTime());
    candidates.set(attempt, folder);
  }
  const deadline = grace.now.getTime() - grace.gracePeriodMs;
  const deleted: string[] = [];
  if (grace.unreachableSince.getTime() > deadline) return deleted;
  for (const folder of candidates.values()) {
    if (folder.newest > deadline) continue;
    for (const key of folder.keys) {
      await store.delete(key);
      deleted.push(key);
    }
  }
  return deleted;
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
