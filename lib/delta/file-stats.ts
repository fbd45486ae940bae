import path from 'node:path';
import type { ColumnDefinition, ColumnType, TableDefinition } from '../../schemas/tables/table-definition.ts';
import { DuckDbSession, sqlString } from '../duckdb/duckdb-session.ts';

/**
 * Per-file statistics of an `add` action (numRecords, minValues, maxValues, nullCount), which
 * engines use to skip files. Like Delta's own writers, only the first 32 columns are indexed
 * (`delta.dataSkippingNumIndexedCols`); lists get none (their footer statistics are of the elements).
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

/**
 * The file's stats from its Parquet footer, not from its rows: one row per column with its row
 * groups' statistics folded (NULL counts summed, the least min and greatest max, typed per column
 * type), and whether every row group had them. DuckDB writes exact statistics; a column some row
 * group has none for gets no min and max (or no NULL count), so engines simply do not skip on it.
 * Reading the footer costs milliseconds where a scan of an hour's flows took over a second.
 */
export function fileStatsSql(file: string): string {
  const typed = (type: string, bound: 'min' | 'max') => {
    const value = `TRY_CAST(stats_${bound}_value AS ${type})`;
    return `CASE WHEN count(*) = count(${value}) THEN ${bound}(${value}) END`;
  };
  return `SELECT path_in_schema AS "column", sum(row_group_num_rows) AS "rows",
    CASE WHEN count(*) = count(stats_null_count) THEN sum(stats_null_count) END AS "nulls",
    ${typed('BIGINT', 'min')} AS "BIGINT_min", ${typed('BIGINT', 'max')} AS "BIGINT_max",
    ${typed('DOUBLE', 'min')} AS "DOUBLE_min", ${typed('DOUBLE', 'max')} AS "DOUBLE_max",
    ${typed('BOOLEAN', 'min')} AS "BOOLEAN_min", ${typed('BOOLEAN', 'max')} AS "BOOLEAN_max",
    ${typed('VARCHAR', 'min')} AS "VARCHAR_min", ${typed('VARCHAR', 'max')} AS "VARCHAR_max",
    epoch_us(${typed('TIMESTAMPTZ', 'min')}) AS "TIMESTAMP_min", epoch_us(${typed('TIMESTAMPTZ', 'max')}) AS "TIMESTAMP_max"
  FROM parquet_metadata(${sqlString(file)}) GROUP BY path_in_schema`;
}

/** Which folded column of fileStatsSql holds a contract type's bounds (INTEGER is read as BIGINT). */
const BOUNDS_OF: Record<Exclude<ColumnType, 'VARCHAR[]'>, string> = { INTEGER: 'BIGINT', BIGINT: 'BIGINT', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN', VARCHAR: 'VARCHAR', TIMESTAMP: 'TIMESTAMP' };

/** The stats of fileStatsSql's rows, in the log's JSON form (timestamps as ISO strings in milliseconds). */
export function fileStatsOf(table: TableDefinition, rows: readonly Readonly<Record<string, unknown>>[]): FileStats {
  const byColumn = new Map(rows.map((row) => [String(row.column), row]));
  const stats: FileStats = { numRecords: Math.max(0, ...rows.map((row) => Number(row.rows ?? 0))), minValues: {}, maxValues: {}, nullCount: {} };
  for (const column of indexedColumns(table)) {
    if (column.type === 'VARCHAR[]') continue;
    const row = byColumn.get(column.name);
    const nulls = row?.nulls;
    if (stats.numRecords === 0 || (nulls !== null && nulls !== undefined)) stats.nullCount[column.name] = Number(nulls ?? 0);
    const min = row?.[`${BOUNDS_OF[column.type]}_min`];
    const max = row?.[`${BOUNDS_OF[column.type]}_max`];
    if (min === null || min === undefined || max === null || max === undefined) continue;
    if (column.type === 'TIMESTAMP') {
      // Milliseconds in the log: the min rounds down and the max up, so both still bound the file.
      stats.minValues[column.name] = new Date(Math.floor(Number(min) / 1000)).toISOString();
      stats.maxValues[column.name] = new Date(Math.ceil(Number(max) / 1000)).toISOString();
    } else if (column.type === 'VARCHAR') {
      stats.minValues[column.name] = String(min).slice(0, STRING_PREFIX);
      if (String(max).length <= STRING_PREFIX) stats.maxValues[column.name] = String(max);
    } else if (column.type === 'DOUBLE' && (!Number.isFinite(Number(min)) || !Number.isFinite(Number(max)))) {
      continue;
    } else {
      stats.minValues[column.name] = typeof min === 'bigint' ? Number(min) : (min as number | boolean);
      stats.maxValues[column.name] = typeof max === 'bigint' ? Number(max) : (max as number | boolean);
    }
  }
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
      stats.push(fileStatsOf(file.table, await session.all(fileStatsSql(path.resolve(file.localPath)))));
    }
    return stats;
  } finally {
    session.close();
  }
}
