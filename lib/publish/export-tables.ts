import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { ENGINE_TYPES } from '../delta/column-types.ts';
import { dataFileProjectionSql } from '../delta/delta-schema.ts';
import { fileStatsOf, fileStatsSql, type FileStats } from '../delta/file-stats.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import { parquetCompressionSql, type ParquetCompression } from '../models/model-definition.ts';
import { parquetNullCounts } from '../models/parquet-null-counts.ts';
import { failedRowChecks, type RowCheck } from '../models/row-checks.ts';
import type { StagedTable } from './publish-partition.ts';

/** zstd level 1: half the CPU of the default level 3 on high-cardinality columns, files a few percent larger. */
export const PUBLISHED_PARQUET_COMPRESSION: ParquetCompression = { codec: 'zstd', level: 1 };

/**
 * Writes every published table to local staging, then checks each file before it may be
 * uploaded, and computes its Delta stats in the same session. A table whose model was written as
 * a Parquet file in the table's column order (the flows mart, `modelFiles`) is published from
 * that file as it is, checked the same way.
 */
export async function exportTables(
  session: DuckDbSession,
  workDir: string,
  durationsMs: Record<string, number>,
  modelFiles: ReadonlyMap<string, { file: string; rows: number }>,
  preparedFiles: ReadonlyMap<string, readonly { file: string; rows: number }[]> = new Map(),
): Promise<StagedTable[]> {
  const outDir = path.join(workDir, 'out');
  await mkdir(outDir, { recursive: true });
  const staged: StagedTable[] = [];
  for (const table of PUBLISHED_TABLES) {
    const started = performance.now();
    const modelFile = table.orderBy.length === 0 ? modelFiles.get(table.name) : undefined;
    const written = preparedFiles.get(table.name) ?? [modelFile ?? (await writeTableFile(session, table, outDir))];
    const files: StagedTable['files'] = [];
    for (const { file, rows } of written) {
      await verifyExport(session, table, file, rows);
      const statsStarted = performance.now();
      files.push({ localPath: file, rows, stats: await statsOfFile(session, table, file) });
      // The Delta stats are part of publishing's cost, measured apart (bench/pipeline-bench.ts reports the share).
      durationsMs['publish:stats'] = (durationsMs['publish:stats'] ?? 0) + Math.round(performance.now() - statsStarted);
    }
    staged.push({ table, files });
    durationsMs[`export:${table.name}`] = Math.round(performance.now() - started);
  }
  return staged;
}

/** The table's rows in its column order and Delta types (timestamps adjusted to UTC), as Parquet (zstd). */
export async function writeTableFile(session: DuckDbSession, table: TableDefinition, outDir: string): Promise<{ file: string; rows: number }> {
  const file = path.join(outDir, `${table.name}.parquet`);
  const order = table.orderBy.length > 0 ? ` ORDER BY ${table.orderBy.map(sqlIdentifier).join(', ')}` : '';
  const [copied] = await session.all<{ Count: bigint }>(
    `COPY (SELECT ${dataFileProjectionSql(table)} FROM ${sqlIdentifier(table.name)}${order}) TO ${sqlString(file)} (FORMAT parquet, ${parquetCompressionSql(PUBLISHED_PARQUET_COMPRESSION)})`,
  );
  return { file, rows: Number(copied!.Count) };
}

/**
 * Reads back what was written: the row count from the Parquet footer (or the NDJSON lines) and
 * the Parquet schema, then the table contract's column checks (columnContractChecks).
 */
async function verifyExport(session: DuckDbSession, table: TableDefinition, file: string, expectedRows: number): Promise<void> {
  const rows = Number((await session.all<{ n: bigint }>(`SELECT coalesce(sum(num_rows), 0) AS n FROM parquet_file_metadata(${sqlString(file)})`))[0]!.n);
  if (rows !== expectedRows) throw new Error(`export of ${table.name} holds ${rows} rows, expected ${expectedRows}`);
  await assertFileSchema(session, table, file);
  const checks = columnContractChecks(table, await parquetNullCounts(session, file));
  const scanned = await failedRowChecks(
    session,
    `read_parquet(${sqlString(file)})`,
    checks.flatMap((check) => ('failing' in check ? [check] : [])),
  );
  const failedScans = new Map(scanned.map((check) => [check.label, check.rows]));
  throwIfContractBroken(
    table,
    checks.map((check) => ({ label: check.label, rows: 'failing' in check ? (failedScans.get(check.label) ?? 0) : check.rows })).filter((check) => check.rows > 0),
  );
}

/** Throws unless the file's columns are the table's, in order, each of the type its Delta type needs. */
export async function assertFileSchema(session: DuckDbSession, table: TableDefinition, file: string): Promise<void> {
  const columns = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  // DESCRIBE spells TIMESTAMPTZ out.
  const actual = columns.map((c) => `${c.column_name} ${c.column_type.replace('TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ')}`).join(', ');
  const declared = table.columns.map((c) => `${c.name} ${ENGINE_TYPES[c.type].duckdb}`).join(', ');
  if (actual !== declared) throw new Error(`export of ${table.name} does not match its schema:\n  declared: ${declared}\n  written:  ${actual}`);
}

/** The file's Delta stats, from one scan in the writer's session. */
export async function statsOfFile(session: DuckDbSession, table: TableDefinition, file: string): Promise<FileStats> {
  return fileStatsOf(table, await session.all(fileStatsSql(file)));
}

/**
 * The table contract's column checks of a written file, in column order: no NULL in a column
 * declared non-nullable, no value outside a column's declared values. A column's NULL count the
 * Parquet footer gives (`nullCounts`) is taken from there, as the rows failing its check; every
 * other check is a condition for one scan of the file (columnar, each column read once).
 * Checking the file instead of the views that produced it (the enrichment joins, run again per
 * test) is both cheaper and what the lake actually gets.
 */
function columnContractChecks(table: TableDefinition, nullCounts: ReadonlyMap<string, number>): (RowCheck | { label: string; rows: number })[] {
  return table.columns.flatMap((column) => {
    const label = `${column.name} is NULL`;
    const nulls = nullCounts.get(column.name);
    return [
      ...(column.nullable ? [] : [nulls === undefined ? { label, failing: `${sqlIdentifier(column.name)} IS NULL` } : { label, rows: nulls }]),
      ...(column.values ? [{ label: `${column.name} is not one of ${column.values.join(', ')}`, failing: `${sqlIdentifier(column.name)} NOT IN (${column.values.map(sqlString).join(', ')})` }] : []),
    ];
  });
}

function throwIfContractBroken(table: TableDefinition, failed: readonly { label: string; rows: number }[]): void {
  if (failed.length > 0) throw new Error(`export of ${table.name} breaks its contract: ${failed.map((f) => `${f.label} in ${f.rows} row(s)`).join('; ')}`);
}
