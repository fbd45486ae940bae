import type { TuplePath } from './json-record-splitter.ts';
import type { TupleTyper } from './stage-json-records.ts';
import type { LineTyper } from './stage-lines.ts';

/**
 * How a raw object is handed to the normalize model (lib/staging):
 * - `lines`: text, one record per line (plain or gzip), staged as `<line_no>\x1f<line>`;
 * - `json-records`: one JSON document `{"records": [...]}` (Azure), staged one record per line,
 *   the record's 1-based index in place of the line number, and the flow tuples at `tuplePath`
 *   taken out of each record into a relation of their own (lib/staging/stage-json-records.ts);
 * - `parquet`: a Parquet file (AWS Parquet delivery), rendered by DuckDB as the same text lines
 *   as the text delivery: a header line 0 of the column names, then one line per row.
 */
export type StagingKind = 'lines' | 'json-records' | 'parquet';

/**
 * What staging needs to know of a source (lib/sources/source-definition.ts extends it). Staging
 * sits below the sources: it is handed them (StagingSources), it never imports their registry.
 */
export interface StagingSource {
  /** The `flows.source_type` value and the normalize model's prefix. */
  sourceType: string;
  /** How a staged object is handed to the normalize model (may depend on the key, e.g. `.parquet`). */
  staging(key: string): StagingKind;
  /**
   * For `lines` staging: types the plain records while staging reads them (lib/staging/
   * stage-lines.ts, LineTyper); they reach the model as `stg_typed__<source>` with `typedColumns`,
   * the other lines as text in `stg_lines__<source>`. `formatHint` is the source's configured
   * format for objects without a header.
   */
  lineTyper?(formatHint: string | undefined): LineTyper;
  /** The typed rows' columns after object_idx and line_no, with their DuckDB types (with `lineTyper`). */
  typedColumns?: readonly (readonly [name: string, type: string])[];
  /**
   * For `json-records` staging: where a record holds its flow tuples (object keys, '*' for every
   * element of an array). Staging takes them out into `stg_tuples__<source>`, one row each.
   */
  tuplePath?: TuplePath;
  /**
   * For `json-records` staging: types the plain flow tuples while staging reads them (lib/staging/
   * stage-json-records.ts, TupleTyper); they reach the model as typed columns of `stg_tuples__<source>`.
   */
  tupleTyper?: TupleTyper;
}

/** Finds a source by its type; throws for a type it does not know. */
export type StagingSourceByType = (sourceType: string) => StagingSource;

/**
 * The sources a caller hands to staging (lib/sources/staging-sources.ts builds them from the
 * registry): every source, one by type, and the module a staging worker thread runs, which
 * serves tasks with the same sources (serveStagingTasks), since functions cannot be posted to a
 * thread.
 */
export interface StagingSources {
  all: readonly StagingSource[];
  byType: StagingSourceByType;
  /** Absolute path of the worker thread's entry module; bundled into the thread's script (staging-worker-script.ts). */
  workerModule: string;
}
