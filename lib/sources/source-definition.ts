import type { StagingKind, StagingSource } from '../staging/staging-source.ts';
import type { ModelDefinition } from '../models/model-definition.ts';
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

export type { StagingKind };

export interface SourceDefinition extends StagingSource {
  /** The `flows.source_type` value and the normalize model's prefix. */
  sourceType: SourceType;
  /** Key of the source in the configuration's `sources` section. */
  configKey: SourceType;
  /** The name `netflow inspect --source` takes (kebab-case). */
  cliName: string;
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
  /** Normalize models generated from the source's schema instead of written in sql/normalize/ (AWS: aws_vpc__parsed_records). */
  generatedModels?(): ModelDefinition[];
}

export function deliveryWindow(hourStart: Date, latenessMs: number): DeliveryWindow {
  return { hourStart, from: hourStart, to: new Date(hourStart.getTime() + HOUR_MS + latenessMs) };
}

/** Whether the hour starting at `hourStart` overlaps the window: objects named by an hour they cover. */
export function hourInWindow(hourStart: Date, window: DeliveryWindow): boolean {
  const start = hourStart.getTime();
  return start < window.to.getTime() && start + HOUR_MS > window.from.getTime();
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
