import { byListingKey, listedObject, renderUnsafeKey, unsafeKeyReason, type FolderInfo, type ListOptions, type ObjectInfo, type ObjectStore } from '../storage/object-store.ts';

/**
 * One step of a provider's key layout below a source prefix:
 * - `literal`: one folder of a fixed name (`vpcflowlogs`);
 * - `any`: the folders a delimiter listing finds whose name matches (accounts, regions,
 *   subscriptions, NSGs): discovered, never guessed, and never more than one level at a time;
 * - `date`: text generated from the hours to read, appended to the prefix: date folders
 *   (`2024/05/01/`, `y=2024/m=05/d=01/h=13/`) or the start of a file name (`20240501T13`). The
 *   hours are those of the windows, starting `earlierMs` before each (a folder or name date that
 *   may precede the delivery time the window filters on).
 * Everything under the prefix a layout's last step reaches is listed; the source's filter
 * (`SourceDefinition.inWindow`) then keeps the objects of the window.
 */
export type LayoutStep = { literal: string } | { any: RegExp } | { date: (hour: Date) => string; earlierMs?: number };

export interface SourceLayout {
  /** Names the layout in tests and docs. */
  name: string;
  steps: readonly LayoutStep[];
}

/** Time ranges whose objects a discovery wants: each run's delivery windows. */
export interface TimeRange {
  from: Date;
  to: Date;
}

interface Cursor {
  prefix: string;
  layout: SourceLayout;
  at: number;
}

/**
 * Lists the objects of `layouts` under `sourcePrefix` for the hours of `ranges`: date prefixes are
 * generated, the folders above them (accounts, regions, subscriptions) found with delimiter
 * listings, so that the cost is that of the window's date prefixes, not of the prefix's history.
 * Layouts sharing a prefix share its listings. A listed key that fails `assertSafeKey` comes back
 * marked (`unsafeKey`) under a safe rendering; a folder whose name fails it is not entered, and
 * reported through `options.onSkipped`, as are local symbolic links.
 */
export async function* listLayouts(
  store: Pick<ObjectStore, 'list' | 'listChildren'>,
  sourcePrefix: string,
  layouts: readonly SourceLayout[],
  ranges: readonly TimeRange[],
  options: ListOptions = {},
): AsyncIterable<ObjectInfo> {
  let queue: Cursor[] = layouts.map((layout) => ({ prefix: sourcePrefix, layout, at: stepsAlreadyInPrefix(sourcePrefix, layout) }));
  const leavesListed = new Set<string>();
  while (queue.length > 0) {
    const prefix = queue[0]!.prefix;
    const here = queue.filter((cursor) => cursor.prefix === prefix);
    queue = queue.filter((cursor) => cursor.prefix !== prefix);
    // Listed only where a layout needs the folders (accounts, regions); then they also prune the
    // date prefixes generated at the same level (no Firehose `2024/` beside the account folders).
    const folders = here.some((cursor) => 'any' in (cursor.layout.steps[cursor.at] ?? {})) ? await childFolders(store, prefix, options) : undefined;
    for (const cursor of here) {
      const step = cursor.layout.steps[cursor.at];
      if (!step) {
        if (leavesListed.has(prefix)) continue;
        leavesListed.add(prefix);
        for await (const object of store.list(prefix, options)) {
          yield object.unsafeKey === undefined && unsafeKeyReason(object.key) !== undefined ? listedObject(object.key, object.size, object.etag, object.lastModified) : object;
        }
        continue;
      }
      const next = (child: string) => queue.push({ prefix: child, layout: cursor.layout, at: cursor.at + 1 });
      if ('literal' in step) {
        next(`${prefix}${step.literal}/`);
      } else if ('any' in step) {
        for (const folder of folders ?? []) if (step.any.test(folder.slice(prefix.length, -1))) next(folder);
      } else {
        for (const text of dateTexts(step, ranges)) {
          const slash = text.indexOf('/');
          if (folders && slash >= 0 && !folders.includes(`${prefix}${text.slice(0, slash + 1)}`)) continue;
          next(`${prefix}${text}`);
        }
      }
    }
  }
}

/** The distinct texts a date step generates for the ranges' hours, in order. */
export function dateTexts(step: { date: (hour: Date) => string; earlierMs?: number }, ranges: readonly TimeRange[]): string[] {
  const texts = new Set<string>();
  for (const range of ranges) {
    for (const hour of hoursOverlapping(new Date(range.from.getTime() - (step.earlierMs ?? 0)), range.to)) texts.add(step.date(hour));
  }
  return [...texts].sort();
}

/**
 * How many of the layout's first steps the source prefix already holds (a prefix configured down
 * to `…/resourceId=/` or to one subscription): its last segments, matched against the steps.
 */
function stepsAlreadyInPrefix(sourcePrefix: string, layout: SourceLayout): number {
  const segments = sourcePrefix.split('/').filter(Boolean);
  for (let count = Math.min(segments.length, layout.steps.length); count > 0; count--) {
    const tail = segments.slice(segments.length - count);
    const matches = tail.every((segment, index) => {
      const step = layout.steps[index]!;
      return 'literal' in step && step.literal === segment;
    });
    if (matches) return count;
  }
  return 0;
}

/** The folders directly under `prefix`; a store without delimiter listings is listed whole under it. */
async function childFolders(store: Pick<ObjectStore, 'list' | 'listChildren'>, prefix: string, options: ListOptions): Promise<string[]> {
  const folders = new Set<string>();
  if (store.listChildren) {
    for await (const entry of store.listChildren(prefix, options)) if ('folder' in entry) folders.add(entry.folder);
  } else {
    for await (const object of store.list(prefix, options)) {
      const slash = object.key.indexOf('/', prefix.length);
      if (slash > prefix.length) folders.add(object.key.slice(0, slash + 1));
    }
  }
  const safe: string[] = [];
  for (const folder of [...folders].map((f): FolderInfo => ({ folder: f })).sort(byListingKey)) {
    const reason = unsafeKeyReason(folder.folder.slice(0, -1));
    if (reason === undefined) safe.push(folder.folder);
    else options.onSkipped?.(renderUnsafeKey(folder.folder), `folder name is unsafe (${reason}), not listed`);
  }
  return safe;
}

/** Every UTC hour that overlaps [from, to), as Date objects at the start of each hour. */
function hoursOverlapping(from: Date, to: Date): Date[] {
  const hours: Date[] = [];
  const first = Math.floor(from.getTime() / 3_600_000) * 3_600_000;
  for (let time = first; time < to.getTime(); time += 3_600_000) hours.push(new Date(time));
  return hours;
}
