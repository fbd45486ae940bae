import type { ObjectStore } from '../storage/object-store.ts';
import { checkpointActions, writeCheckpointFile } from './checkpoint-file.ts';
import { readLastCheckpoint } from './delta-log.ts';
import { checkpointKey, dataFileKey, lastCheckpointKey, logPrefix, parseLogKey, tableRoot, type TableRef } from './log-keys.ts';
import type { Snapshot } from './snapshot.ts';

export interface HousekeepingOptions {
  /** The partition just committed: files in its folder the log never named (attempts killed after their upload) are deleted too. */
  partition?: { dt: string; hour: string };
  checkpointInterval: number;
  /** Removed data files are deleted this long after the commit that removed them. */
  gracePeriodMs: number;
  /** Commit files a checkpoint covers are deleted once older than this. */
  logRetentionMs: number;
  now: Date;
}

export interface HousekeepingResult {
  checkpoint?: { version: number; bytes: number; actions: number };
  deletedFiles: string[];
  deletedLogFiles: string[];
}

/**
 * What a writer does after its commit: delete data files whose removal is older than the grace
 * period (the time comes from the remove action's deletionTimestamp), write a checkpoint every
 * `checkpointInterval` versions, and delete log files that a checkpoint covers and that are
 * older than the log retention. None of it changes what a snapshot shows, so a failure here is
 * logged by the caller and retried at the next commit.
 */
export async function tidyTable(store: ObjectStore, table: TableRef, snapshot: Snapshot, options: HousekeepingOptions): Promise<HousekeepingResult> {
  const result: HousekeepingResult = { deletedFiles: [], deletedLogFiles: [] };
  const expired = options.now.getTime() - options.gracePeriodMs;
  for (const remove of snapshot.tombstones.values()) {
    if (remove.deletionTimestamp > expired || snapshot.files.has(remove.path)) continue;
    const key = dataFileKey(table, remove.path);
    if (!(await store.head(key))) continue;
    await store.delete(key);
    result.deletedFiles.push(key);
  }
  if (options.partition) result.deletedFiles.push(...(await deleteOrphans(store, table, snapshot, options.partition, expired)));
  if (snapshot.version > 0 && snapshot.version % options.checkpointInterval === 0) {
    result.checkpoint = await writeCheckpoint(store, table, snapshot, expired);
    result.deletedLogFiles = await expireLog(store, table, snapshot.version, options.now.getTime() - options.logRetentionMs);
  }
  return result;
}

/**
 * Files in the partition's folder that the log neither adds nor removes: uploads of attempts that
 * died before their commit or lost it. Deleted once older than the grace period, so that an
 * upload still on its way to a commit is never taken.
 */
async function deleteOrphans(store: ObjectStore, table: TableRef, snapshot: Snapshot, partition: { dt: string; hour: string }, writtenBefore: number): Promise<string[]> {
  const folder = `dt=${partition.dt}/hour=${partition.hour}/`;
  const prefix = `${tableRoot(table)}${folder}`;
  const deleted: string[] = [];
  for await (const object of store.list(prefix)) {
    const relative = object.key.slice(tableRoot(table).length);
    if (snapshot.files.has(relative) || snapshot.tombstones.has(relative) || object.lastModified.getTime() > writtenBefore) continue;
    await store.delete(object.key);
    deleted.push(object.key);
  }
  return deleted;
}

/** Writes the snapshot's checkpoint, then points `_last_checkpoint` at it unless a newer one is there already. */
export async function writeCheckpoint(store: ObjectStore, table: TableRef, snapshot: Snapshot, tombstonesAfter: number): Promise<{ version: number; bytes: number; actions: number }> {
  const actions = checkpointActions(snapshot, tombstonesAfter);
  let bytes = 0;
  await writeCheckpointFile(actions, async (file, size) => {
    bytes = size;
    await store.putFile(checkpointKey(table, snapshot.version), file, { contentType: 'application/vnd.apache.parquet' });
  });
  const current = await readLastCheckpoint(store, table);
  if (!current || current.version < snapshot.version) {
    const body = { version: snapshot.version, size: actions.length, sizeInBytes: bytes, numOfAddFiles: snapshot.files.size };
    await store.putBytes(lastCheckpointKey(table), JSON.stringify(body), { contentType: 'application/json' });
  }
  return { version: snapshot.version, bytes, actions: actions.length };
}

/**
 * Deletes commits (and checkpoints) below the newest checkpoint at or below `checkpointVersion`
 * that were written before `before`; the checkpoint itself and everything after it stay.
 */
async function expireLog(store: ObjectStore, table: TableRef, checkpointVersion: number, before: number): Promise<string[]> {
  const deleted: string[] = [];
  // One listing gives each log file's version and age: no request per file.
  for await (const object of store.list(logPrefix(table))) {
    const parsed = parseLogKey(object.key);
    if (!parsed || parsed.version >= checkpointVersion || object.lastModified.getTime() >= before) continue;
    await store.delete(object.key);
    deleted.push(object.key);
  }
  return deleted;
}
