import type { ObjectInfo } from '../storage/object-store.ts';

/**
 * One raw source: where its objects land and which of them a run for an event hour reads.
 * Discovery is pure: it plans listing prefixes and filters listed keys by their delivery time,
 * so it is tested without a store. Parsing lives in `sql/normalize/<source_type>__records.sql`.
 */
export interface DeliveryWindow {
  /** Start of the event hour (UTC). */
  hourStart: Date;
  /** Objects delivered in [from, to) may hold records of the hour: the hour plus the lateness. */
  from: Date;
  to: Date;
}

export interface SourceDefinition {
  /** The `flows.source_type` value and the normalize model's prefix. */
  sourceType: 'aws_vpc' | 'agent';
  /** Key of the source in the configuration's `sources` section. */
  configKey: 'aws_vpc' | 'agent';
  /** How staged objects are handed to the normalize model. */
  staging: 'lines';
  /** Prefixes to list for a window (each a prefix of `sourcePrefix`). */
  listPrefixes(sourcePrefix: string, window: DeliveryWindow): string[];
  /** Whether a listed object belongs to the window; undefined keys of another shape are skipped. */
  inWindow(object: ObjectInfo, sourcePrefix: string, window: DeliveryWindow): boolean;
  /** Facts the key itself tells (AWS: region), passed to the normalize model. */
  regionHint?(key: string): string | undefined;
}

export function deliveryWindow(hourStart: Date, latenessMs: number): DeliveryWindow {
  return { hourStart, from: hourStart, to: new Date(hourStart.getTime() + 3_600_000 + latenessMs) };
}

/** Every UTC hour that overlaps [from, to), as Date objects at the start of each hour. */
export function hoursOverlapping(from: Date, to: Date): Date[] {
  const hours: Date[] = [];
  const first = Math.floor(from.getTime() / 3_600_000) * 3_600_000;
  for (let time = first; time < to.getTime(); time += 3_600_000) hours.push(new Date(time));
  return hours;
}

export function daysOverlapping(from: Date, to: Date): string[] {
  const days = new Set(hoursOverlapping(from, to).map((hour) => hour.toISOString().slice(0, 10)));
  return [...days];
}
