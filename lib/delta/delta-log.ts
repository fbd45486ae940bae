import type { ObjectStore } from '../storage/object-store.ts';
import { commitText, parseCommit, type DeltaAction } from './delta-actions.ts';
import { readCheckpointFile } from './checkpoint-file.ts';
import { checkpointKey, commitKey, lastCheckpointKey, logPrefix, parseLogKey, type TableRef } from './log-keys.ts';
import { applyActions, assertReadable, emptySnapshot, type Snapshot } from './snapshot.ts';

/**
 * The Delta log of one table in the object store: reading commits, checkpoints and snapshots,
 * and creating a commit only if absent. Pure replay and planning live in snapshot.ts and
 * plan-commit.ts; this module only moves bytes.
 */
export async function readCommit(store: ObjectStore, table: TableRef, version: number): Promise<DeltaAction[] | undefined> {
  const key = commitKey(table, version);
  const body = await store.getBytes(key);
  if (!body) return undefined;
  const actions = parseCommit(body.toString('utf8'), key);
  // Replaying an empty commit would silently drop what it added: a store that showed a commit
  // before its bytes (none should) fails the read instead.
  if (actions.length === 0) throw new Error(`commit ${key} holds no actions`);
  return actions;
}

/**
 * Creates commit `version`; throws ObjectExistsError (from the store) when another writer
 * created it first. Create-only: `If-None-Match: *` on S3 and Azure, `link()` on a local folder.
 */
export async function writeCommit(store: ObjectStore, table: TableRef, version: number, actions: readonly DeltaAction[]): Promise<void> {
  await store.putBytes(commitKey(table, version), commitText(actions), { createOnly: true, contentType: 'application/json' });
}

export interface LastCheckpoint {
  version: number;
  size: number;
  sizeInBytes?: number;
  numOfAddFiles?: number;
}

export async function readLastCheckpoint(store: ObjectStore, table: TableRef): Promise<LastCheckpoint | undefined> {
  const body = await store.getBytes(lastCheckpointKey(table));
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as LastCheckpoint;
    return Number.isInteger(parsed.version) ? parsed : undefined;
  } catch {
    // A torn or foreign _last_checkpoint is only a hint: the log is listed instead.
    return undefined;
  }
}

/** The log's commit and checkpoint versions, from one listing of `_delta_log/`. */
export async function listLog(store: ObjectStore, table: TableRef): Promise<{ commits: number[]; checkpoints: number[] }> {
  const commits: number[] = [];
  const checkpoints: number[] = [];
  for await (const object of store.list(logPrefix(table))) {
    const parsed = parseLogKey(object.key);
    if (parsed?.kind === 'commit') commits.push(parsed.version);
    else if (parsed?.kind === 'checkpoint') checkpoints.push(parsed.version);
  }
  return { commits, checkpoints };
}

export interface SnapshotOptions {
  /** Read the table as of this version (default: the latest). */
  version?: number;
}

/**
 * Loads a snapshot: the newest checkpoint at or below the wanted version, then the commits after
 * it. For the latest version `_last_checkpoint` names the checkpoint and the commits after it are
 * read until one is absent, so a year of hourly commits costs one checkpoint and a few small
 * reads, never a listing of the log. Without `_last_checkpoint`, or for an older version, the log
 * is listed once.
 */
export async function loadSnapshot(store: ObjectStore, table: TableRef, options: SnapshotOptions = {}): Promise<Snapshot> {
  const wanted = options.version;
  let start: number | undefined;
  let last: number | undefined;
  const hint = await readLastCheckpoint(store, table);
  if (hint && (wanted === undefined || hint.version <= wanted)) {
    start = hint.version;
  } else {
    const log = await listLog(store, table);
    const below = log.checkpoints.filter((version) => wanted === undefined || version <= wanted);
    start = below.length > 0 ? Math.max(...below) : undefined;
    last = log.commits.length > 0 ? Math.max(...log.commits) : undefined;
    const oldest = log.commits.length > 0 ? Math.min(...log.commits) : undefined;
    if (wanted !== undefined && start === undefined && oldest !== undefined && oldest > 0) {
      throw new Error(`table ${table.name} has no version ${wanted} any more: its oldest commit is ${oldest} (log retention)`);
    }
  }
  const snapshot = emptySnapshot();
  if (start !== undefined) {
    const key = checkpointKey(table, start);
    applyActions(snapshot, start, await readCheckpointFile((file) => store.getToFile(key, file).then(() => undefined)));
  }
  const stop = wanted ?? last;
  for (let version = (start ?? -1) + 1; stop === undefined || version <= stop; version++) {
    const actions = await readCommit(store, table, version);
    if (!actions) {
      if (wanted !== undefined && version <= wanted) throw new Error(`table ${table.name} has no version ${wanted}: commit ${version} is missing`);
      break;
    }
    applyActions(snapshot, version, actions);
  }
  assertReadable(snapshot, table.name);
  return snapshot;
}

/** Commits after `snapshot.version`, read until one is absent (what a writer that lost a race missed). */
export async function readCommitsAfter(store: ObjectStore, table: TableRef, version: number): Promise<{ version: number; actions: DeltaAction[] }[]> {
  const commits: { version: number; actions: DeltaAction[] }[] = [];
  for (let next = version + 1; ; next++) {
    const actions = await readCommit(store, table, next);
    if (!actions) return commits;
    commits.push({ version: next, actions });
  }
}

/** The version current at `at`: the newest commit whose commitInfo timestamp is not after it. */
export async function versionAsOf(store: ObjectStore, table: TableRef, at: Date): Promise<number> {
  const { commits } = await listLog(store, table);
  for (const version of commits.sort((a, b) => b - a)) {
    const actions = await readCommit(store, table, version);
    const info = actions?.find((action) => 'commitInfo' in action);
    const timestamp = info && 'commitInfo' in info ? info.commitInfo.timestamp : undefined;
    if (timestamp !== undefined && timestamp <= at.getTime()) return version;
  }
  throw new Error(`table ${table.name} has no commit at or before ${at.toISOString()}`);
}
