import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Manifest, ManifestFile } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import type { Logger } from '../log/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';
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
 * table's manifest is replaced in one PUT. Files of versions older than the one just replaced
 * are collected; the replaced version stays for readers that resolved it a moment ago.
 */
export async function publishPartition(options: {
  store: ObjectStore;
  partition: PartitionRef;
  runId: string;
  attemptId: string;
  tables: StagedTable[];
  logger: Logger;
  now?: () => Date;
}): Promise<PublishedTable[]> {
  const { store, partition, runId, attemptId, logger } = options;
  const uploaded: { staged: StagedTable; files: ManifestFile[] }[] = [];
  for (const staged of options.tables) {
    const files: ManifestFile[] = [];
    for (const [index, file] of staged.files.entries()) {
      const extension = staged.table.format === 'parquet' ? 'parquet' : 'ndjson';
      const key = `${versionPrefix(staged.table, partition, attemptId)}part-${String(index).padStart(5, '0')}.${extension}`;
      const [sha256, size] = await Promise.all([sha256File(file.localPath), stat(file.localPath).then((s) => s.size)]);
      await store.putFile(key, file.localPath, { contentType: staged.table.format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/x-ndjson' });
      files.push({ key, rows: file.rows, bytes: size, sha256 });
    }
    uploaded.push({ staged, files });
  }
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
    await store.putBytes(key, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
    const collected = await collectSuperseded(store, staged.table, partition, new Set([attemptId, previous?.attempt_id].filter((id): id is string => Boolean(id))));
    logger.info('partition published', { table: staged.table.name, dt: partition.dt, hour: partition.hour, rows: manifest.rows, attempt_id: attemptId, collected: collected.length });
    published.push({ table: staged.table.name, manifestKey: key, rows: manifest.rows, files, collected });
  }
  return published;
}

/** Deletes every version folder of the partition except the ones to keep; returns the deleted keys. */
export async function collectSuperseded(store: ObjectStore, table: TableDefinition, partition: PartitionRef, keep: ReadonlySet<string>): Promise<string[]> {
  const prefix = partitionPrefix(table, partition);
  const deleted: string[] = [];
  for await (const object of store.list(`${prefix}version=`)) {
    const attempt = /^version=([^/]+)\//.exec(object.key.slice(prefix.length))?.[1];
    if (attempt && !keep.has(attempt)) {
      await store.delete(object.key);
      deleted.push(object.key);
    }
  }
  return deleted;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
