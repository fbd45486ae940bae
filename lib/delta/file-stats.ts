import path from 'node:path';
import type { ColumnDefinition, TableDefinition } from '../../schemas/tables/table-definition.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';

/**
 * Per-file statistics of an `add` action (numRecords, minValues, maxValues, nullCount), which
 * engines use to skip files. Like Delta's own writers, only the first 32 columns are indexed
 * (`delta.dataSkippingNumIndexedCols`); lists get a null count only.
 */
export const INDEXED_COLUMNS = 32;

/** Strings longer than this have no max (a truncated max would be below the real one) and a truncated min (a prefix stays below). */
const STRING_PREFIX = 32;

export interface FileStats {
  numRecords: number;
  minValues: Record<string, string | number | boolean>;
  maxValues: Record<string, string | number | boolean>;
  nullCount: Record<string, number>;
}

export function indexedColumns(table: TableDefinition): readonly ColumnDefinition[] {
  return table.columns.slice(0, INDEXED_COLUMNS);
}

/** One aggregate over the file: its row count, and per indexed column its NULL count, min and max. */
export function fileStatsSql(table: TableDefinition, file: string): string {
  const parts = ['count(*) AS "n"'];
  indexedColumns(table).forEach((column, index) => {
    const name = sqlIdentifier(column.name);
    parts.push(`count(*) - count(${name}) AS "null_${index}"`);
    if (column.type === 'VARCHAR[]') return;
    // Timestamps as microseconds since the epoch: the JSON form is chosen in JS, rounding the max up.
    const value = column.type === 'TIMESTAMP' ? `epoch_us(${name})` : name;
    parts.push(`min(${value}) AS "min_${index}"`, `max(${value}) AS "max_${index}"`);
  });
  return `SELECT ${parts.join(', ')} FROM read_parquet(${sqlString(file)})`;
}

/** The stats of the aggregate's one row, in the log's JSON form (timestamps as ISO strings in milliseconds). */
export function fileStatsOf(table: TableDefinition, row: Readonly<Record<string, unknown>>): FileStats {
  const stats: FileStats = { numRecords: Number(row.n), minValues: {}, maxValues: {}, nullCount: {} };
  indexedColumns(table).forEach((column, index) => {
    stats.nullCount[column.name] = Number(row[`null_${index}`]);
    if (column.type === 'VARCHAR[]') return;
    const min = row[`min_${index}`];
    const max = row[`max_${index}`];
    if (min === null || min === undefined || max === null || max === undefined) return;
    if (column.type === 'TIMESTAMP') {
      // Milliseconds in the log: the min rounds down and the max up, so both still bound the file.
      stats.minValues[column.name] = new Date(Math.floor(Number(min) / 1000)).toISOString();
      stats.maxValues[column.name] = new Date(Math.ceil(Number(max) / 1000)).toISOString();
    } else if (column.type === 'VARCHAR') {
      stats.minValues[column.name] = String(min).slice(0, STRING_PREFIX);
      if (String(max).length <= STRING_PREFIX) stats.maxValues[column.name] = String(max);
    } else if (column.type === 'DOUBLE' && (!Number.isFinite(Number(min)) || !Number.isFinite(Number(max)))) {
      return;
    } else {
      stats.minValues[column.name] = typeof min === 'bigint' ? Number(min) : (min as number | boolean);
      stats.maxValues[column.name] = typeof max === 'bigint' ? Number(max) : (max as number | boolean);
    }
  });
  return stats;
}

/** Computes the stats of local data files in one short DuckDB session confined to their folders. */
export async function computeFileStats(files: readonly { table: TableDefinition; localPath: string }[], workDir: string): Promise<FileStats[]> {
  if (files.length === 0) return [];
  const session = await DuckDbSession.open({
    workDir,
    readableDirs: [...new Set(files.map((file) => path.dirname(path.resolve(file.localPath))))],
    memoryLimit: '512MB',
    maxTempDirectorySize: '1GB',
  });
  try {
    const stats: FileStats[] = [];
    for (const file of files) {
      const [row] = await session.all(fileStatsSql(file.table, path.resolve(file.localPath)));
      stats.push(fileStatsOf(file.table, row!));
    }
    return stats;
  } finally {
    session.close();
  }
}
