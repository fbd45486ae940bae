import path from 'node:path';
import type { ColumnDefinition, TableDefinition } from '../../schemas/tables/table-definition.ts';
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
 * The file's stats from its Parquet footer, not from its rows: the row count, and per indexed
 * column the NULL count, min and max of its row groups' statistics (DuckDB writes exact ones).
 * A column whose statistics some row group lacks gets no min and max (or no NULL count): engines
 * then simply do not skip on it. Reading the footer costs milliseconds where a scan of an hour's
 * flows took over a second.
 */
export function fileStatsSql(table: TableDefinition, file: string): string {
  const footer = `parquet_metadata(${sqlString(file)})`;
  const parts = [`(SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(${sqlString(file)})) AS "n"`];
  indexedColumns(table).forEach((column, index) => {
    if (column.type === 'VARCHAR[]') return;
    const ofColumn = `FROM ${footer} WHERE path_in_schema = ${sqlString(column.name)}`;
    parts.push(`(SELECT CASE WHEN count(*) = count(stats_null_count) THEN sum(stats_null_count) END ${ofColumn}) AS "null_${index}"`);
    // Timestamps as microseconds since the epoch: the JSON form is chosen in JS, rounding the max up.
    const typed = (value: string) => (column.type === 'TIMESTAMP' ? `epoch_us(TRY_CAST(${value} AS TIMESTAMPTZ))` : `TRY_CAST(${value} AS ${column.type})`);
    for (const [bound, value] of [['min', 'stats_min_value'], ['max', 'stats_max_value']] as const) {
      parts.push(`(SELECT CASE WHEN count(*) = count(${typed(value)}) THEN ${bound}(${typed(value)}) END ${ofColumn}) AS "${bound}_${index}"`);
    }
  });
  return `SELECT ${parts.join(', ')}`;
}

/** The stats of the aggregate's one row, in the log's JSON form (timestamps as ISO strings in milliseconds). */
export function fileStatsOf(table: TableDefinition, row: Readonly<Record<string, unknown>>): FileStats {
  const stats: FileStats = { numRecords: Number(row.n), minValues: {}, maxValues: {}, nullCount: {} };
  indexedColumns(table).forEach((column, index) => {
    if (column.type === 'VARCHAR[]') return;
    const nulls = row[`null_${index}`];
    if (stats.numRecords === 0 || (nulls !== null && nulls !== undefined)) stats.nullCount[column.name] = Number(nulls ?? 0);
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
