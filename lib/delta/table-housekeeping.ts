import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';
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
  const folders = new FolderListings(store);
  result.deletedFiles.push(...(await deleteExpiredTombstones(store, table, snapshot, expired, folders)));
  if (options.partition) result.deletedFiles.push(...(await deleteOrphans(store, table, snapshot, options.partition, expired, folders)));
  if (snapshot.version > 0 && snapshot.version % options.checkpointInterval === 0) {
    result.checkpoint = await writeCheckpoint(store, table, snapshot, expired);
    result.deletedLogFiles = await expireLog(store, table, snapshot.version, options.now.getTime() - options.logRetentionMs);
  }
  return result;
}

/**
 * Data files removed longer ago than the grace period and still in the store. A tombstone stays
 * in the log until a checkpoint drops it, so every commit until then meets it again: the store is
 * asked once per folder holding such tombstones (a listing) instead of once per tombstone (a HEAD).
 */
async function deleteExpiredTombstones(store: ObjectStore, table: TableRef, snapshot: Snapshot, removedBefore: number, folders: FolderListings): Promise<string[]> {
  const expiredKeys: string[] = [];
  for (const remove of snapshot.tombstones.values()) {
    if (remove.deletionTimestamp <= removedBefore && !snapshot.files.has(remove.path)) expiredKeys.push(dataFileKey(table, remove.path));
  }
  const present = new Set<string>();
  for (const folder of new Set(expiredKeys.map(folderOf))) {
    for (const object of await folders.objectsUnder(folder)) present.add(object.key);
  }
  const deleted: string[] = [];
  for (const key of expiredKeys) {
    if (!present.has(key)) continue;
    await store.delete(key);
    deleted.push(key);
  }
  return deleted;
}

/** The folder part of a key, ending in '/'. */
function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

/** Each folder's objects, listed once per housekeeping pass and shared by its steps. */
class FolderListings {
  private readonly listed = new Map<string, Promise<ObjectInfo[]>>();
  constructor(private readonly store: ObjectStore) {}

  objectsUnder(prefix: string): Promise<ObjectInfo[]> {
    const known = this.listed.get(prefix);
    if (known) return known;
    const objects = this.listAll(prefix);
    this.listed.set(prefix, objects);
    return objects;
  }

  private async listAll(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    for await (const object of this.store.list(prefix)) objects.push(object);
    return objects;
  }
}

/**
 * Files in the partition's folder that the log neither adds nor removes: uploads of attempts that
 * died before their commit or lost it. Deleted once older than the grace period, so that an
 * upload still on its way to a commit is never taken.
 */
async function deleteOrphans(store: ObjectStore, table: TableRef, snapshot: Snapshot, partition: { dt: string; hour: string }, writtenBefore: number, folders: FolderListings): Promise<string[]> {
  const prefix = `${tableRoot(table)}dt=${partition.dt}/hour=${partition.hour}/`;
  const deleted: string[] = [];
  // Tombstones deleted just before are in a shared listing still: the log names them, so they are skipped.
  for (const object of await folders.objectsUnder(prefix)) {
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
