import { stat } from 'node:fs/promises';
import type { DuckDbSession } from '../duckdb/duckdb-session.ts';
import { sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import { ndjson } from '../reference/reference-data.ts';
import { tuplesPathOf, typedTuplesPathOf } from './stage-json-records.ts';
import { DEFAULT_STAGE_LIMITS, FIELD_SEPARATOR, typedPathOf } from './stage-lines.ts';
import type { StagedObject, StageReject } from './stage-objects.ts';
import type { StagingSource } from './staging-source.ts';

export function stagedLinesRelation(source: StagingSource): string {
  return `stg_lines__${source.sourceType}`;
}

/** The flow tuples staging took out of a `json-records` source's records (StagingSource.tuplePath). */
export function stagedTuplesRelation(source: StagingSource): string {
  return `stg_tuples__${source.sourceType}`;
}

/** The records staging typed for a source with a line typer (StagingSource.lineTyper). */
export function stagedTypedRelation(source: StagingSource): string {
  return `stg_typed__${source.sourceType}`;
}

/** Relations the normalize models read that exist before any model runs. */
export function stagedRelations(sources: readonly StagingSource[]): string[] {
  return [
    'stg_objects',
    'stg_rejects',
    ...sources.map(stagedLinesRelation),
    ...sources.filter((s) => s.tuplePath).map(stagedTuplesRelation),
    ...sources.filter((s) => s.typedColumns).map(stagedTypedRelation),
  ];
}

export interface InstallOptions {
  /** Every source, whether it staged objects or not: each gets its relations (lib/sources/staging-sources.ts). */
  sources: readonly StagingSource[];
  /** Per source type: a format the normalize model applies to objects that do not state theirs (AWS: the configured format string). */
  formatHints?: Partial<Record<string, string | undefined>>;
}

/**
 * Loads the staged objects into the session: `stg_objects` (one row per object, with what its
 * key and the configuration tell), `stg_rejects` (what staging refused) and one
 * `stg_lines__<source>` relation per source (object_idx, line_no, line), and for a source whose
 * records hold flow tuples, `stg_tuples__<source>` (object_idx, raw_offset, group_no, the plain
 * tuples' typed columns, tuple). Parquet objects are
 * rendered here as the text lines their source's model reads; one that DuckDB cannot read is
 * added to `rejects` (quarantined whole) before `stg_rejects` is built.
 */
export async function installStagedInputs(session: DuckDbSession, workDir: string, staged: StagedObject[], rejects: StageReject[], options: InstallOptions): Promise<void> {
  for (const source of options.sources) {
    const relation = sqlIdentifier(stagedLinesRelation(source));
    const files = linesPathsOf(staged, source);
    if (files.length === 0) {
      await createEmpty(session, relation, { line_no: 'BIGINT', line: 'VARCHAR' });
    } else {
      // The staged format is ours (lib/staging/stage-lines.ts), so any read error fails the run.
      await session.run(`CREATE OR REPLACE TABLE ${relation} AS
        SELECT ${OBJECT_IDX}, line_no, line
        FROM ${stagedFileReader(files, { line_no: 'BIGINT', line: 'VARCHAR' })}`);
    }
    if (source.typedColumns) await installTypedRows(session, source, staged);
  }
  for (const source of options.sources.filter((s) => s.tuplePath)) {
    const relation = sqlIdentifier(stagedTuplesRelation(source));
    const linesPaths = linesPathsOf(staged, source);
    // One relation of the tuples staged as text and those typed while staging (TupleTyper): the
    // typed columns NULL for the first, the text NULL for the others.
    const key: Record<string, string> = { raw_offset: 'BIGINT', group_no: 'INTEGER' };
    const typedColumns: Record<string, string> = Object.fromEntries(source.tupleTyper?.columns ?? []);
    const columns = { ...key, ...typedColumns, tuple: 'VARCHAR' };
    const parts = [
      { files: linesPaths.map(tuplesPathOf), read: { ...key, tuple: 'VARCHAR' }, delimiter: FIELD_SEPARATOR },
      { files: await nonEmptyFiles(linesPaths.map(typedTuplesPathOf)), read: { ...key, ...typedColumns }, delimiter: 0x2c },
    ].filter((part) => part.files.length > 0);
    if (parts.length === 0) {
      await createEmpty(session, relation, columns);
      continue;
    }
    // A view, as stg_typed__<source>: the source's model reads the tuples once, and copying them
    // into a table first cost about as much as reading them.
    await session.run(
      `CREATE OR REPLACE VIEW ${relation} AS ${parts
        .map(
          (part) => `
      SELECT ${OBJECT_IDX}, ${columnsOrNull(columns, Object.keys(part.read))}
      FROM ${stagedFileReader(part.files, part.read, { delimiter: part.delimiter })}`,
        )
        .join('\n      UNION ALL')}`,
    );
  }
  for (const item of staged) {
    if (!item.parquetPath) continue;
    const relation = sqlIdentifier(`stg_lines__${item.object.sourceType}`);
    try {
      await insertParquetAsLines(session, relation, item.objectIdx, item.parquetPath);
    } catch (error) {
      await session.run(`DELETE FROM ${relation} WHERE object_idx = ${item.objectIdx}`);
      rejects.push({
        source_type: item.object.sourceType,
        raw_object_key: item.object.key,
        raw_offset: null,
        reason: `object cannot be read: Parquet file is corrupt (${firstLine((error as Error).message)})`,
        raw_text: null,
      });
      delete item.parquetPath;
    }
  }

  const objects = staged.map((item) => ({
    object_idx: item.objectIdx,
    source_type: item.object.sourceType,
    object_key: item.object.key,
    etag: item.object.etag,
    size: item.object.size,
    region_hint: item.object.regionHint,
    format_hint: options.formatHints?.[item.object.sourceType] ?? null,
  }));
  await session.run(
    `CREATE OR REPLACE TABLE stg_objects AS SELECT * FROM ${await ndjson(workDir, 'stg_objects', objects, {
      object_idx: 'INTEGER',
      source_type: 'VARCHAR',
      object_key: 'VARCHAR',
      etag: 'VARCHAR',
      size: 'BIGINT',
      region_hint: 'VARCHAR',
      format_hint: 'VARCHAR',
    })}`,
  );
  await session.run(
    `CREATE OR REPLACE TABLE stg_rejects AS SELECT * FROM ${await ndjson(workDir, 'stg_rejects', rejects, {
      source_type: 'VARCHAR',
      raw_object_key: 'VARCHAR',
      raw_offset: 'BIGINT',
      reason: 'VARCHAR',
      raw_text: 'VARCHAR',
    })}`,
  );
}

/**
 * `stg_typed__<source>`: the records staging typed (StagingSource.lineTyper), a view over the
 * typed Parquet files, which the source's model reads with the columns it needs: at millions of
 * records, a table of them would hold as much memory as the model's own. Every file has the
 * typer's columns (`line_no`, then `typedColumns`).
 */
async function installTypedRows(session: DuckDbSession, source: StagingSource, staged: StagedObject[]): Promise<void> {
  const relation = sqlIdentifier(stagedTypedRelation(source));
  const columns: Record<string, string> = { line_no: 'BIGINT', ...Object.fromEntries(source.typedColumns!) };
  const files = await nonEmptyFiles(linesPathsOf(staged, source).map(typedPathOf));
  if (files.length === 0) {
    await createEmpty(session, relation, columns);
    return;
  }
  // The staged format is ours (lib/staging/parquet-writer.ts), so any read error fails the run.
  await session.run(`CREATE OR REPLACE VIEW ${relation} AS
    SELECT ${OBJECT_IDX}, ${Object.keys(columns).map(sqlIdentifier).join(', ')}
    FROM read_parquet([${files.map(sqlString).join(', ')}], filename = true)`);
}

/**
 * The object index of a staged file's rows, from its name (`<object_idx>.txt`,
 * `<object_idx>.tuples.txt`, `<object_idx>.typed.parquet`, … in lib/staging).
 */
const OBJECT_IDX = `CAST(regexp_extract(filename, '(?:^|/)(\\d+)(\\.[a-z-]+)?\\.(txt|parquet)$', 1) AS INTEGER) AS object_idx`;

/** Every one of `columns` in order: those a file has (`present`) as read, the others NULL of their type. */
function columnsOrNull(columns: Record<string, string>, present: readonly string[]): string {
  return Object.entries(columns)
    .map(([name, type]) => (present.includes(name) ? sqlIdentifier(name) : `CAST(NULL AS ${type}) AS ${sqlIdentifier(name)}`))
    .join(', ');
}

/** The staged line files of a source's objects (those not quarantined whole). */
function linesPathsOf(staged: StagedObject[], source: StagingSource): string[] {
  return staged.filter((item) => item.object.sourceType === source.sourceType && item.linesPath).map((item) => item.linesPath!);
}

/** A staged relation of a source with nothing staged: empty, with the columns its model reads. */
async function createEmpty(session: DuckDbSession, relation: string, columns: Record<string, string>): Promise<void> {
  const definitions = Object.entries(columns)
    .map(([name, type]) => `${sqlIdentifier(name)} ${type}`)
    .join(', ');
  await session.run(`CREATE OR REPLACE TABLE ${relation} (object_idx INTEGER, ${definitions})`);
}

/** Of these staged files, those that exist and hold something. */
async function nonEmptyFiles(paths: string[]): Promise<string[]> {
  const sizes = await Promise.all(paths.map(async (file) => (await stat(file).catch(() => undefined))?.size ?? 0));
  return paths.filter((_, index) => sizes[index]! > 0);
}

/** read_csv over staged files of ours: 0x1f-separated (or `delimiter`), no quoting, every column named and typed. */
function stagedFileReader(files: string[], columns: Record<string, string>, { delimiter = FIELD_SEPARATOR }: { delimiter?: number } = {}): string {
  return `read_csv([${files.map(sqlString).join(', ')}],
    delim = ${sqlString(String.fromCharCode(delimiter))}, quote = '', escape = '', header = false,
    auto_detect = false, columns = {${Object.entries(columns)
      .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
      .join(', ')}}, filename = true,
    max_line_size = ${DEFAULT_STAGE_LIMITS.maxLineBytes + 64})`;
}

/**
 * AWS's Parquet delivery carries the same fields as the text delivery, named with underscores
 * (`account_id`, `log_status`). Rendering each row as the text record (`-` for null) and the
 * column names as the header line lets one normalize model parse both deliveries: line 0 is
 * the header, line n the n-th row (1-based), which is the record's raw_offset.
 */
async function insertParquetAsLines(session: DuckDbSession, relation: string, objectIdx: number, file: string): Promise<void> {
  const reader = `read_parquet(${sqlString(file)}, file_row_number = true)`;
  const columns = (await session.all<{ column_name: string }>(`DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${reader}`)).map((c) => c.column_name);
  const header = columns.map((name) => name.replaceAll('_', '-')).join(' ');
  // A value holding a space or a control character cannot be a field of the text format; it
  // is kept visible (and fails the field count) rather than silently rewritten.
  const values = columns.map((name) => `coalesce(CAST(${sqlIdentifier(name)} AS VARCHAR), '-')`).join(", ' ', ");
  await session.run(`INSERT INTO ${relation} (object_idx, line_no, line)
    SELECT ${objectIdx}, 0, ${sqlString(header)}
    UNION ALL
    SELECT ${objectIdx}, file_row_number + 1, concat(${values}) FROM ${reader}`);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}
