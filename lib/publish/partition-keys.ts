import type { TableDefinition } from '../../schemas/tables/table-definition.ts';

/** Object keys of a published partition; every reader and writer derives them from here. */
export interface PartitionRef {
  dt: string;
  hour: string;
}

export function partitionOf(hourStart: Date): PartitionRef {
  const iso = hourStart.toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

export function partitionPrefix(table: Pick<TableDefinition, 'root' | 'name'>, partition: PartitionRef): string {
  return `${table.root}/${table.name}/dt=${partition.dt}/hour=${partition.hour}/`;
}

export function manifestKey(table: Pick<TableDefinition, 'root' | 'name'>, partition: PartitionRef): string {
  return `${partitionPrefix(table, partition)}_manifest.json`;
}

export function versionPrefix(table: Pick<TableDefinition, 'root' | 'name'>, partition: PartitionRef, attemptId: string): string {
  return `${partitionPrefix(table, partition)}version=${attemptId}/`;
}

export function tablePrefix(table: Pick<TableDefinition, 'root' | 'name'>): string {
  return `${table.root}/${table.name}/`;
}

const MANIFEST_KEY = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/_manifest\.json$/;

export function parseManifestKey(key: string): PartitionRef | undefined {
  const match = MANIFEST_KEY.exec(key);
  return match ? { dt: match[1]!, hour: match[2]! } : undefined;
}
