import type { Manifest } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { rowsOfAdd, type AddAction } from './delta-actions.ts';
import { loadSnapshot } from './delta-log.ts';
import { dataFileKey } from './log-keys.ts';
import { filesOf, type Snapshot } from './snapshot.ts';

/**
 * A snapshot's partitions in the shape the run ledger, reports and status have always used: per
 * partition its run, attempt, rows and files with their size and SHA-256 (the add actions' tags).
 */
export function publishedPartitions(snapshot: Snapshot, table: TableDefinition, keep?: (partition: { dt: string; hour: string }) => boolean): Manifest[] {
  const byPartition = new Map<string, AddAction[]>();
  for (const add of filesOf(snapshot, keep)) {
    const id = `${add.partitionValues.dt}T${add.partitionValues.hour}`;
    byPartition.set(id, [...(byPartition.get(id) ?? []), add]);
  }
  return [...byPartition.keys()].sort().map((id) => {
    const adds = byPartition.get(id)!;
    const first = adds[0]!;
    const files = adds.map((add) => ({ key: dataFileKey(table, add.path), rows: rowsOfAdd(add), bytes: add.size, sha256: add.tags?.sha256 ?? '' }));
    return {
      manifest_version: 1,
      table: table.name,
      schema_version: table.schemaVersion,
      format: 'parquet',
      dt: first.partitionValues.dt!,
      hour: first.partitionValues.hour!,
      run_id: first.tags?.run_id ?? 'unknown',
      attempt_id: first.tags?.attempt_id ?? 'unknown',
      committed_at: new Date(Math.max(...adds.map((add) => add.modificationTime))).toISOString(),
      rows: files.reduce((sum, file) => sum + file.rows, 0),
      files,
      previous_attempt_id: null,
    } satisfies Manifest;
  });
}

/** The partition as the table's latest snapshot has it; undefined when never published. */
export async function readPublishedPartition(store: ObjectStore, table: TableDefinition, partition: { dt: string; hour: string }): Promise<Manifest | undefined> {
  const snapshot = await loadSnapshot(store, table);
  return publishedPartitions(snapshot, table, (p) => p.dt === partition.dt && p.hour === partition.hour)[0];
}
