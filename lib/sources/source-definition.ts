import type { TuplePath } from '../staging/json-record-splitter.ts';
import type { TupleTyper } from '../staging/stage-json-records.ts';
import type { LineTyper } from '../staging/stage-lines.ts';
import type { ObjectInfo } from '../storage/object-store.ts';
import type { SourceLayout } from './list-layout.ts';

/**
 * One raw source: where its objects land and which of them a run for an event hour reads.
 * Discovery is pure: it plans listing prefixes and filters listed keys by their delivery time,
 * so it is tested without a store. Parsing lives in `sql/normalize/<source_type>__records.sql`;
 * the raw record's shape is declared in `schemas/sources/<source>.ts`.
 */
export interface DeliveryWindow {
  /** Start of the event hour (UTC). */
  hourStart: Date;
  /** Objects delivered in [from, to) may hold records of the hour: the hour plus the lateness. */
  from: Date;
  to: Date;
}

export const SOURCE_TYPES = ['aws_vpc', 'azure_nsg', 'azure_vnet', 'gcp_vpc', 'oci_vcn', 'agent'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

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

export interface SourceDefinition {
  /** The `flows.source_type` value and the normalize model's prefix. */
  sourceType: SourceType;
  /** Key of the source in the configuration's `sources` section. */
  configKey: SourceType;
  /** The name `netflow inspect --source` takes (kebab-case). */
  cliName: string;
  /** How a staged object is handed to the normalize model (may depend on the key, e.g. `.parquet`). */
  staging(key: string): StagingKind;
  /**
   * The provider's key layouts below the source prefix, down to the date prefixes a window is
   * listed by (lib/sources/list-layout.ts): a run lists only those, never the prefix's history.
   */
  layouts: readonly SourceLayout[];
  /**
   * Whether a listed object belongs to the window; keys of another shape are skipped. Every key
   * it accepts lies under a date prefix the layouts generate for the window.
   */
  inWindow(object: ObjectInfo, sourcePrefix: string, window: DeliveryWindow): boolean;
  /** Facts the key itself tells (AWS: region), passed to the normalize model. */
  regionHint?(key: string): string | undefined;
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

export function deliveryWindow(hourStart: Date, latenessMs: number): DeliveryWindow {
  return { hourStart, from: hourStart, to: new Date(hourStart.getTime() + 3_600_000 + latenessMs) };
}

/** Whether the hour starting at `hourStart` overlaps the window: objects named by an hour they cover. */
export function hourInWindow(hourStart: Date, window: DeliveryWindow): boolean {
  const start = hourStart.getTime();
  return start < window.to.getTime() && start + 3_600_000 > window.from.getTime();
}

export const HOUR_MS = 3_600_000;

/** UTC date parts of an hour, zero-padded, for building folder prefixes. */
export function hourParts(hour: Date): { y: string; m: string; d: string; h: string } {
  const iso = hour.toISOString();
  return { y: iso.slice(0, 4), m: iso.slice(5, 7), d: iso.slice(8, 10), h: iso.slice(11, 13) };
}

/** A Date from numeric UTC parts, or undefined when they do not form a real time. */
export function utcDate(y: string, m: string, d: string, h = '00', min = '00', s = '00'): Date | undefined {
  const date = new Date(`${y}-${m}-${d}T${h}:${min}:${s}Z`);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().startsWith(`${y}-${m}-${d}T${h}:${min}:${s}`) ? date : undefined;
}
