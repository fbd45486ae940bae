import { durationMs, type Config } from '../../schemas/config.ts';
import type { DiscoveredObject } from '../staging/stage-objects.ts';
import type { ListOptions, ObjectInfo, ObjectStore } from '../storage/object-store.ts';
import { listLayouts } from './list-layout.ts';
import { SOURCES } from './registry.ts';
import { deliveryWindow, HOUR_MS, type DeliveryWindow, type SourceDefinition } from './source-definition.ts';

/**
 * Late data, the part a run decides from keys and the run ledger (docs/operations.md, "Late data").
 *
 * The run of hour D publishes the records of D from the objects of its delivery window. A record
 * of another hour H in those objects is H's: H's run reads the same object when H's window holds
 * it, and the scheduler's rescan reruns H when such an object arrives after H was published —
 * for as long as H is within `scheduler.rescan_lookback`. Two kinds of records escape that, and
 * the run of D routes them to `late_records` (its own partition, never H's):
 * - **beyond the look-back**: an object version that reached the window of an hour H older than
 *   the look-back (up to `scheduler.late_horizon`) after H's last publish, and that no other run
 *   has routed; each run looks at the hours D − horizon … D − look-back, so every hour is watched
 *   by the runs of the hours after its look-back ends;
 * - **beyond the lateness**: records of an hour whose delivery window does not hold their object
 *   at all (an AWS file delivered more than `lateness` after the record's hour), which no run of
 *   that hour ever reads; the last hour whose window holds the object owns them, so they are
 *   routed exactly once.
 */

/** An object version whose records of an hour are accounted for (read by the hour's published run, or routed late by another run). */
export interface AccountedObject {
  key: string;
  etag: string;
  size: number;
  /** Highest offset read from that version; records of a later version up to it are not new. Unknown in older ledger entries. */
  last_offset?: number | null;
}

/**
 * Per event hour (`YYYY-MM-DDTHH`), the object versions accounted for, from the run ledger
 * (orchestration). An hour without an entry has never been published: it is `missing`, not late,
 * and its objects are not routed.
 */
export type LateAccounting = (hours: readonly Date[]) => Promise<Map<string, AccountedObject[]>>;

/** An object found in the window of a late hour, with the hours for which its version is new. */
export interface LateObject extends DiscoveredObject {
  lateHours: Date[];
  /** Records at or before this offset were read from an earlier version of the object (0: none). */
  afterOffset: number;
}

/** One row of `stg_object_routing` (sql/marts/late_records.sql). */
export interface ObjectRouting {
  object_key: string;
  etag: string;
  delivered_at: string;
  window_hours: string[];
  late_hours: string[];
  routes_orphans: boolean;
  after_offset: number;
}

export function hourKeyOf(hour: Date): string {
  return hour.toISOString().slice(0, 13);
}

/** The hours past the look-back that the run of `hour` watches: D − horizon … D − look-back (none when the horizon is not longer). */
export function lateHoursOf(hour: Date, config: Pick<Config, 'scheduler'>): Date[] {
  const newest = hour.getTime() - durationMs(config.scheduler.rescan_lookback);
  const oldest = hour.getTime() - durationMs(config.scheduler.late_horizon);
  const hours: Date[] = [];
  for (let time = Math.ceil(oldest / HOUR_MS) * HOUR_MS; time <= newest; time += HOUR_MS) hours.push(new Date(time));
  return hours;
}

/** Whether a run of the window keeps the object (the source's filter; every key it accepts lies under a date prefix the window lists). */
export function objectInWindow(source: SourceDefinition, sourcePrefix: string, object: ObjectInfo, window: DeliveryWindow): boolean {
  return source.inWindow(object, sourcePrefix, window);
}

/**
 * The event hours whose delivery window holds the object, searched around an hour whose window
 * is known to hold it: windows holding one object are at most 1 h + lateness apart.
 */
export function windowHoursOf(object: DiscoveredObject, around: Date, config: Pick<Config, 'lateness' | 'sources'>): Date[] {
  const source = SOURCES.find((s) => s.sourceType === object.sourceType)!;
  const prefix = config.sources[source.configKey].prefix;
  const latenessMs = durationMs(config.lateness);
  const reach = Math.ceil((HOUR_MS + latenessMs) / HOUR_MS) * HOUR_MS;
  const hours: Date[] = [];
  for (let time = around.getTime() - reach; time <= around.getTime() + reach; time += HOUR_MS) {
    if (objectInWindow(source, prefix, object, deliveryWindow(new Date(time), latenessMs))) hours.push(new Date(time));
  }
  return hours;
}

/**
 * Lists every enabled source once for all the given windows, by the date prefixes of their hours
 * only (lib/sources/list-layout.ts), and returns the objects any of them holds, sorted by key,
 * each with the indexes of its windows. `options.cost` adds up the listing's requests and keys.
 */
export async function discoverInWindows(store: ObjectStore, config: Config, windows: readonly DeliveryWindow[], options: ListOptions = {}): Promise<{ object: DiscoveredObject; windows: number[] }[]> {
  const found: { object: DiscoveredObject; windows: number[] }[] = [];
  if (windows.length === 0) return found;
  for (const source of SOURCES) {
    const sourceConfig = config.sources[source.configKey];
    if (!sourceConfig.enabled) continue;
    const seen = new Set<string>();
    for await (const object of listLayouts(store, sourceConfig.prefix, source.layouts, windows, options)) {
      if (seen.has(object.key)) continue;
      const held = windows.flatMap((window, index) => (source.inWindow(object, sourceConfig.prefix, window) ? [index] : []));
      if (held.length === 0) continue;
      seen.add(object.key);
      const regionHint = object.unsafeKey === undefined ? (source.regionHint?.(object.key) ?? null) : null;
      found.push({ object: { ...object, sourceType: source.sourceType, regionHint }, windows: held });
    }
  }
  return found.sort((a, b) => (a.object.key < b.object.key ? -1 : a.object.key > b.object.key ? 1 : 0));
}

/**
 * What the run of `hour` reads: the objects of its own delivery window, and (given the ledger's
 * accounting) the new object versions in the windows of the late hours it watches. One listing
 * serves both.
 */
export async function discoverRunObjects(
  store: ObjectStore,
  config: Config,
  hour: Date,
  accounting?: LateAccounting,
  options: ListOptions = {},
): Promise<{ window: DiscoveredObject[]; late: LateObject[] }> {
  const latenessMs = durationMs(config.lateness);
  const lateHours = accounting ? lateHoursOf(hour, config) : [];
  const accounted = lateHours.length > 0 ? await accounting!(lateHours) : new Map<string, AccountedObject[]>();
  const watched = lateHours.filter((late) => accounted.has(hourKeyOf(late)));
  const found = await discoverInWindows(store, config, [deliveryWindow(hour, latenessMs), ...watched.map((late) => deliveryWindow(late, latenessMs))], options);
  const inLateWindows = found.flatMap(({ object, windows }) => {
    const late = windows.filter((index) => index > 0).map((index) => index - 1);
    return late.length > 0 ? [{ object, windows: late }] : [];
  });
  return {
    window: found.filter(({ windows }) => windows.includes(0)).map(({ object }) => object),
    late: newLateObjects(inLateWindows, watched, accounted),
  };
}

/**
 * The object versions in the windows of `lateHours` that no published run of the hour read and
 * no other run routed. Hours with no accounting entry (never published) are left alone.
 */
export function newLateObjects(
  found: readonly { object: DiscoveredObject; windows: number[] }[],
  lateHours: readonly Date[],
  accounted: ReadonlyMap<string, readonly AccountedObject[]>,
): LateObject[] {
  const byHour = lateHours.map((hour) => {
    const versions = accounted.get(hourKeyOf(hour));
    return versions ? new Map(versions.map((version) => [version.key, version] as const)) : undefined;
  });
  const late: LateObject[] = [];
  for (const { object, windows } of found) {
    const hours: Date[] = [];
    let afterOffset = Number.POSITIVE_INFINITY;
    for (const index of windows) {
      const versions = byHour[index];
      if (!versions) continue;
      const known = versions.get(object.key);
      if (known && known.etag === object.etag && known.size === object.size) continue;
      hours.push(lateHours[index]!);
      // A new version of an object read before: only what follows the old version's end is new.
      afterOffset = Math.min(afterOffset, known?.last_offset ?? 0);
    }
    if (hours.length > 0) late.push({ ...object, lateHours: hours, afterOffset });
  }
  return late;
}

/**
 * What the run of `hour` routes from each object it stages: its window objects (records of other
 * hours it owns because no window of theirs holds the object) and the late objects.
 */
export function objectRouting(hour: Date, windowObjects: readonly DiscoveredObject[], lateObjects: readonly LateObject[], config: Pick<Config, 'lateness' | 'sources'>): ObjectRouting[] {
  const late = new Map(lateObjects.map((object) => [object.key, object]));
  const inWindow = new Set(windowObjects.map((object) => object.key));
  const rows: ObjectRouting[] = [];
  for (const object of [...windowObjects, ...lateObjects.filter((o) => !inWindow.has(o.key))]) {
    const lateObject = late.get(object.key);
    const windowHours = windowHoursOf(object, inWindow.has(object.key) ? hour : lateObject!.lateHours[0]!, config);
    const owner = Math.max(...windowHours.map((h) => h.getTime()));
    const lateTimes = new Set((lateObject?.lateHours ?? []).map((h) => h.getTime()));
    rows.push({
      object_key: object.key,
      etag: object.etag,
      delivered_at: sqlTimestamp(object.lastModified),
      window_hours: windowHours.map(sqlTimestamp),
      late_hours: [...lateTimes].map((time) => sqlTimestamp(new Date(time))),
      routes_orphans: (inWindow.has(object.key) && owner === hour.getTime()) || lateTimes.has(owner),
      after_offset: lateObject ? lateObject.afterOffset : 0,
    });
  }
  return rows;
}

/** Column types of `stg_object_routing`. */
export const OBJECT_ROUTING_COLUMNS = {
  object_key: 'VARCHAR',
  etag: 'VARCHAR',
  delivered_at: 'TIMESTAMP',
  window_hours: 'TIMESTAMP[]',
  late_hours: 'TIMESTAMP[]',
  routes_orphans: 'BOOLEAN',
  after_offset: 'BIGINT',
} as const;

function sqlTimestamp(time: Date): string {
  return time.toISOString().replace('T', ' ').replace('Z', '');
}
