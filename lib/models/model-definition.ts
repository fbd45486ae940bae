import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledSql } from '../duckdb/duckdb-session.ts';

/**
 * A dbt-style model: one SELECT that builds one relation. File models live in
 * `sql/<stage>/<name>.sql` and declare themselves in a header of `-- key: value` lines:
 *
 *   -- grain: one row per …            (required)
 *   -- keys: col_a, col_b             (required; `none` for aggregates without a key)
 *   -- upstream: model_a, model_b      (required; `none` for models reading staged inputs only)
 *   -- materialized: table | view | parquet   (default table; parquet: see Materialization)
 *   -- tests: not_null(a, b); unique(a, b); accepted_values(col: x, y)
 *
 * Models built at run time from configuration or rules (compiled with kysely) use the same
 * shape with `compiled` instead of file SQL.
 */
/**
 * `parquet`: the model's rows are written once to a Parquet file in the session's work directory
 * and read through a view. For the wide per-record models (a row per raw record, dozens of
 * mostly-NULL columns): an in-memory table holds every column of every row uncompressed (about
 * 800 bytes a row for AWS) and spills past the memory limit at millions of records, where the
 * file stores NULL runs in a few bytes and each reader decodes only the columns it selects.
 */
export type Materialization = 'table' | 'view' | 'parquet';

export type DataTest = { kind: 'not_null'; columns: string[] } | { kind: 'unique'; columns: string[] } | { kind: 'accepted_values'; column: string; values: string[] };

export interface ModelDefinition {
  name: string;
  stage: string;
  /** Where it came from, for error messages: the file path or `generated:<what>`. */
  origin: string;
  grain: string;
  keys: string[];
  upstream: string[];
  materialized: Materialization;
  tests: DataTest[];
  body: CompiledSql;
  /**
   * For `parquet`: the compression of the file (default none: written and read back fastest).
   * A model whose file is published as it is (the flows mart) is written as the lake's files are.
   */
  parquetCompression?: ParquetCompression;
}

export interface ParquetCompression {
  codec: 'zstd';
  level: number;
}

/** The COPY options of a Parquet file: uncompressed unless a compression is given. */
export function parquetCompressionSql(compression: ParquetCompression | undefined): string {
  if (!compression) return 'COMPRESSION uncompressed';
  if (!Number.isInteger(compression.level)) throw new Error(`parquet compression level must be an integer, got ${compression.level}`);
  return `COMPRESSION ${compression.codec}, COMPRESSION_LEVEL ${compression.level}`;
}

export class ModelDefinitionError extends Error {
  constructor(origin: string, message: string) {
    super(`${origin}: ${message}`);
    this.name = 'ModelDefinitionError';
  }
}

export const STAGES = ['normalize', 'enrich', 'conformance', 'marts'] as const;

export function parseModelFile(origin: string, stage: string, text: string): ModelDefinition {
  const name = path.basename(origin, '.sql');
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new ModelDefinitionError(origin, 'model file names must be snake_case');
  const header = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('--')) {
      if (trimmed === '') continue;
      break;
    }
    const match = /^--\s*([a-z_]+):\s*(.*)$/.exec(trimmed);
    if (match) header.set(match[1]!, match[2]!.trim());
  }
  const required = (key: string): string => {
    const value = header.get(key);
    if (value === undefined || value === '') throw new ModelDefinitionError(origin, `header is missing "-- ${key}: …"`);
    return value;
  };
  const list = (value: string): string[] =>
    value === 'none'
      ? []
      : value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean);
  const materialized = header.get('materialized') ?? 'table';
  if (materialized !== 'table' && materialized !== 'view' && materialized !== 'parquet') {
    throw new ModelDefinitionError(origin, `materialized must be "table", "view" or "parquet", got "${materialized}"`);
  }
  const sql = text.trim().replace(/;\s*$/, '');
  if (sql.includes(';')) {
    // One model, one statement: a stray `;` would let a file smuggle in a second statement.
    const withoutComments = sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");
    if (withoutComments.includes(';')) throw new ModelDefinitionError(origin, 'a model holds exactly one SELECT statement');
  }
  return {
    name,
    stage,
    origin,
    grain: required('grain'),
    keys: list(required('keys')),
    upstream: list(required('upstream')),
    materialized,
    tests: parseTests(origin, header.get('tests') ?? ''),
    body: { sql, parameters: [] },
  };
}

export function parseTests(origin: string, text: string): DataTest[] {
  const tests: DataTest[] = [];
  for (const part of text
    .split(';')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^(not_null|unique|accepted_values)\((.*)\)$/.exec(part);
    if (!match) throw new ModelDefinitionError(origin, `cannot read data test "${part}"`);
    const args = match[2]!;
    if (match[1] === 'accepted_values') {
      const [column, values] = args.split(':');
      if (!column || values === undefined) throw new ModelDefinitionError(origin, `accepted_values needs "column: v1, v2": "${part}"`);
      tests.push({ kind: 'accepted_values', column: column.trim(), values: values.split(',').map((v) => v.trim()) });
    } else {
      tests.push({
        kind: match[1] as 'not_null' | 'unique',
        columns: args
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      });
    }
  }
  return tests;
}

/** Reads every `sql/<stage>/*.sql` model, stages in pipeline order, files in name order. */
export async function loadModelFiles(sqlDir: string): Promise<ModelDefinition[]> {
  const models: ModelDefinition[] = [];
  for (const stage of STAGES) {
    let files: string[];
    try {
      files = (await readdir(path.join(sqlDir, stage))).filter((file) => file.endsWith('.sql')).sort();
    } catch {
      continue;
    }
    for (const file of files) {
      const origin = path.join(sqlDir, stage, file);
      const relative = path.relative(process.cwd(), origin);
      models.push(parseModelFile(relative.startsWith('..') ? origin : relative, stage, await readFile(origin, 'utf8')));
    }
  }
  return models;
}
