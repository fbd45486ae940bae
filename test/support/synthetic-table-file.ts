import path from 'node:path';
import { dataFileProjectionSql } from '../../lib/delta/delta-schema.ts';
import { fileStatsOf, fileStatsSql, type FileStats } from '../../lib/delta/file-stats.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import type { ColumnType, TableDefinition } from '../../schemas/tables/table-definition.ts';

/** A value of each type for row `i`: distinct per row, so that stats and row checks have something to see. */
const VALUE: Record<ColumnType, (hour: string) => string> = {
  VARCHAR: () => `'v' || i`,
  INTEGER: () => `CAST(i AS INTEGER)`,
  BIGINT: () => `CAST(i AS BIGINT)`,
  DOUBLE: () => `CAST(i AS DOUBLE)`,
  BOOLEAN: () => `i % 2 = 0`,
  TIMESTAMP: (hour) => `CAST(${sqlString(`${hour}:00:00`)} AS TIMESTAMP) + to_seconds(i)`,
  'VARCHAR[]': () => `['t' || i]`,
};

/**
 * Writes `rows` synthetic rows of a table, as the job writes its data files (contract columns,
 * Delta types, no partition columns), and returns the file's stats. For volume and protocol
 * tests, whose rows need not mean anything: a column with declared values gets its first one.
 */
export async function writeSyntheticFile(options: {
  table: TableDefinition;
  dir: string;
  name: string;
  rows: number;
  hour: string;
  marker?: string;
}): Promise<{ localPath: string; rows: number; stats: FileStats }> {
  const file = path.resolve(options.dir, `${options.name}.parquet`);
  const session = await DuckDbSession.open({ workDir: options.dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB', threads: 1 });
  try {
    const columns = options.table.columns.map((column) => {
      const value = column.values ? sqlString(column.values[0]!) : column.name === 'run_id' && options.marker ? sqlString(options.marker) : VALUE[column.type](options.hour.replace('T', ' '));
      return `${value} AS ${sqlIdentifier(column.name)}`;
    });
    await session.run(`COPY (SELECT ${dataFileProjectionSql(options.table)} FROM (SELECT ${columns.join(', ')} FROM range(${options.rows}) AS r(i))) TO ${sqlString(file)} (FORMAT parquet)`);
    return { localPath: file, rows: options.rows, stats: fileStatsOf(options.table, await session.all(fileStatsSql(file))) };
  } finally {
    session.close();
  }
}
