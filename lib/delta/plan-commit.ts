import { randomUUID } from 'node:crypto';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { isPartition, PROTOCOL, type AddAction, type DeltaAction, type MetaDataAction } from './delta-actions.ts';
import { PARTITION_COLUMN_NAMES, schemaStringOf } from './delta-schema.ts';
import type { Snapshot } from './snapshot.ts';

export interface PartitionRef {
  dt: string;
  hour: string;
}

export interface ReplacePartition {
  table: TableDefinition;
  partition: PartitionRef;
  adds: readonly AddAction[];
  runId: string;
  attemptId: string;
  operation: string;
  now: Date;
  /** Written into a new table's configuration: how long removed files stay (delta.deletedFileRetentionDuration). */
  gracePeriodMs: number;
  logRetentionMs: number;
  checkpointInterval: number;
}

/**
 * The actions of one publish of a partition against the snapshot it read: commitInfo, the
 * protocol and metaData when the table is new (or its schema grew), a `remove` of every live
 * file of the partition, and the new files' `add`s.
 */
export function planPartitionReplace(snapshot: Snapshot, plan: ReplacePartition): DeltaAction[] {
  const at = plan.now.getTime();
  const actions: DeltaAction[] = [
    {
      commitInfo: {
        timestamp: at,
        operation: plan.operation,
        operationParameters: { mode: 'Overwrite', partitionBy: JSON.stringify(PARTITION_COLUMN_NAMES), predicate: `dt = '${plan.partition.dt}' AND hour = '${plan.partition.hour}'` },
        run_id: plan.runId,
        attempt_id: plan.attemptId,
        hour: `${plan.partition.dt}T${plan.partition.hour}`,
        readVersion: snapshot.version,
        isBlindAppend: false,
        engineInfo: 'netflow-lake',
      },
    },
  ];
  if (!snapshot.protocol) actions.push({ protocol: PROTOCOL });
  const metaData = metaDataFor(snapshot, plan);
  if (metaData) actions.push({ metaData });
  for (const file of snapshot.files.values()) {
    if (!isPartition(file.partitionValues, plan.partition)) continue;
    actions.push({ remove: { path: file.path, deletionTimestamp: at, dataChange: true, extendedFileMetadata: true, partitionValues: file.partitionValues, size: file.size } });
  }
  for (const add of plan.adds) actions.push({ add });
  return actions;
}

/** A metaData action when the table has none or its schema differs from the contract's; undefined when current. */
function metaDataFor(snapshot: Snapshot, plan: ReplacePartition): MetaDataAction | undefined {
  const schemaString = schemaStringOf(plan.table);
  if (snapshot.metaData?.schemaString === schemaString) return undefined;
  return {
    id: snapshot.metaData?.id ?? randomUUID(),
    name: plan.table.name,
    description: plan.table.doc,
    format: { provider: 'parquet', options: {} },
    schemaString,
    partitionColumns: [...PARTITION_COLUMN_NAMES],
    configuration: snapshot.metaData?.configuration ?? {
      'delta.checkpointInterval': String(plan.checkpointInterval),
      'delta.deletedFileRetentionDuration': `interval ${Math.round(plan.gracePeriodMs / 1000)} seconds`,
      'delta.logRetentionDuration': `interval ${Math.round(plan.logRetentionMs / 1000)} seconds`,
      'netflow.schemaVersion': String(plan.table.schemaVersion),
    },
    createdTime: snapshot.metaData?.createdTime ?? plan.now.getTime(),
  };
}

export interface MissedCommit {
  version: number;
  actions: readonly DeltaAction[];
}

export interface Conflict {
  version: number;
  runId: string;
  attemptId: string;
  reason: string;
}

/**
 * Delta's optimistic concurrency for a partition overwrite: commits this writer missed are fine
 * when they touched other partitions only; one that added or removed files of its partition, or
 * changed the table's schema to another than this writer's, is a conflict.
 */
export function conflictOf(missed: readonly MissedCommit[], partition: PartitionRef, schemaString: string): Conflict | undefined {
  for (const commit of missed) {
    const info = commit.actions.find((action) => 'commitInfo' in action)?.['commitInfo' as never] as { run_id?: string; attempt_id?: string } | undefined;
    const who = { version: commit.version, runId: info?.run_id ?? 'unknown', attemptId: info?.attempt_id ?? 'unknown' };
    for (const action of commit.actions) {
      if ('add' in action && isPartition(action.add.partitionValues, partition)) return { ...who, reason: 'published the same partition' };
      if ('remove' in action && isPartition(action.remove.partitionValues, partition)) return { ...who, reason: 'replaced the same partition' };
      if ('remove' in action && !action.remove.partitionValues) return { ...who, reason: 'removed a file without partition values' };
      if ('metaData' in action && action.metaData.schemaString !== schemaString) return { ...who, reason: 'changed the table schema' };
    }
  }
  return undefined;
}
