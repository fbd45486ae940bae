import type { TableDefinition } from '../../schemas/tables/table-definition.ts';

/** Object keys of a Delta table's log; every reader and writer derives them from here. */
export type TableRef = Pick<TableDefinition, 'root' | 'name'>;

export function tableRoot(table: TableRef): string {
  return `${table.root}/${table.name}/`;
}

export function logPrefix(table: TableRef): string {
  return `${tableRoot(table)}_delta_log/`;
}

export function commitKey(table: TableRef, version: number): string {
  return `${logPrefix(table)}${String(version).padStart(20, '0')}.json`;
}

export function checkpointKey(table: TableRef, version: number): string {
  return `${logPrefix(table)}${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

export function lastCheckpointKey(table: TableRef): string {
  return `${logPrefix(table)}_last_checkpoint`;
}

/** The object key of a data file the log names by its path relative to the table root. */
export function dataFileKey(table: TableRef, relativePath: string): string {
  return `${tableRoot(table)}${decodeURIComponent(relativePath)}`;
}

/** A log file's version and kind from its key; undefined for anything else in the folder. */
export function parseLogKey(key: string): { version: number; kind: 'commit' | 'checkpoint' } | undefined {
  const match = /(\d{20})\.(json|checkpoint\.parquet)$/.exec(key);
  if (!match) return undefined;
  return { version: Number(match[1]), kind: match[2] === 'json' ? 'commit' : 'checkpoint' };
}
