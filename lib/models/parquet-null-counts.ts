import { sqlString, type DuckDbSession } from '../duckdb/duckdb-session.ts';

/**
 * The NULL count of each top-level, non-nested column of a Parquet file, from the statistics in
 * its footer: no page is read. Left out, so that the caller scans them instead: a column where
 * some row group's chunk has no NULL count (a writer may omit statistics), and a nested column
 * (a list's leaf, "tags, list, element", counts its empty lists alike).
 */
export async function parquetNullCounts(session: DuckDbSession, file: string): Promise<Map<string, number>> {
  const rows = await session.all<{ column_name: string; nulls: bigint | null; unknown: bigint }>(
    `SELECT path_in_schema AS column_name, sum(stats_null_count) AS nulls, count(*) FILTER (WHERE stats_null_count IS NULL) AS unknown
     FROM parquet_metadata(${sqlString(file)})
     GROUP BY path_in_schema`,
  );
  const counts = new Map<string, number>();
  for (const row of rows) {
    if (row.column_name.includes(',') || Number(row.unknown) > 0 || row.nulls === null) continue;
    counts.set(row.column_name, Number(row.nulls));
  }
  return counts;
}
