import type { AddAction, CommitInfoAction, DeltaAction, MetaDataAction, ProtocolAction, RemoveAction, TxnAction } from './delta-actions.ts';

/**
 * The state of a Delta table at one version: the log's actions replayed in order (PROTOCOL.md,
 * "Action Reconciliation"). A file is live when its last action is an `add`; a `remove` stays as
 * a tombstone until it expires, so that housekeeping knows when the file may be deleted.
 */
export interface Snapshot {
  /** -1 for a table that has no commit yet. */
  version: number;
  protocol?: ProtocolAction;
  metaData?: MetaDataAction;
  files: Map<string, AddAction>;
  tombstones: Map<string, RemoveAction>;
  txns: Map<string, TxnAction>;
  /** commitInfo of each commit replayed from JSON (a checkpoint carries none), by version. */
  commits: Map<number, CommitInfoAction>;
}

export function emptySnapshot(): Snapshot {
  return { version: -1, files: new Map(), tombstones: new Map(), txns: new Map(), commits: new Map() };
}

/** Replays one commit (or a checkpoint's rows) onto the snapshot, in place. */
export function applyActions(snapshot: Snapshot, version: number, actions: readonly DeltaAction[]): Snapshot {
  for (const action of actions) {
    if ('add' in action && action.add) {
      snapshot.files.set(action.add.path, action.add);
      snapshot.tombstones.delete(action.add.path);
    } else if ('remove' in action && action.remove) {
      snapshot.files.delete(action.remove.path);
      snapshot.tombstones.set(action.remove.path, action.remove);
    } else if ('metaData' in action && action.metaData) {
      snapshot.metaData = action.metaData;
    } else if ('protocol' in action && action.protocol) {
      snapshot.protocol = action.protocol;
    } else if ('txn' in action && action.txn) {
      snapshot.txns.set(action.txn.appId, action.txn);
    } else if ('commitInfo' in action && action.commitInfo) {
      snapshot.commits.set(version, action.commitInfo);
    }
  }
  snapshot.version = version;
  return snapshot;
}

/** Refuses a table this code cannot read correctly (a newer protocol: deletion vectors, column mapping). */
export function assertReadable(snapshot: Snapshot, table: string): void {
  const protocol = snapshot.protocol;
  if (protocol && protocol.minReaderVersion > 1) {
    throw new Error(`table ${table} needs Delta reader version ${protocol.minReaderVersion} (table features); netflow reads version 1 only`);
  }
}

/** The live files of the partitions `keep` accepts (all when absent), in path order. */
export function filesOf(snapshot: Snapshot, keep?: (partition: { dt: string; hour: string }) => boolean): AddAction[] {
  const files = [...snapshot.files.values()].filter((file) => !keep || keep({ dt: file.partitionValues.dt ?? '', hour: file.partitionValues.hour ?? '' }));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
