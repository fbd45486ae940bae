import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoveAction } from '../../lib/delta/delta-actions.ts';
import { dataFileKey } from '../../lib/delta/log-keys.ts';
import { applyActions, emptySnapshot, type Snapshot } from '../../lib/delta/snapshot.ts';
import { tidyTable } from '../../lib/delta/table-housekeeping.ts';
import type { ListingCost, ListOptions, ObjectInfo, ObjectStore } from '../../lib/storage/object-store.ts';
import { trafficMatrixTable } from '../../schemas/tables/index.ts';
import { localFolder, s3 } from '../support/store-adapters.ts';

/**
 * What housekeeping asks of the store for a table whose log carries many tombstones: the data
 * files removed by earlier commits stay tombstones until the next checkpoint drops them, so every
 * commit in between meets them again. The requests are counted by a wrapper around the real store
 * (listing pages through the adapter's own cost, every other call as one request).
 */
const table = trafficMatrixTable;
const NOW = Date.parse('2024-05-02T00:00:00Z');
const GRACE_MS = 3_600_000;
const HOURS = ['10', '11', '12'];
const REMOVED_PER_HOUR = 4;

class CountingStore {
  readonly cost: ListingCost = { requests: 0, keys: 0 };
  calls = 0;
  constructor(private readonly inner: ObjectStore) {}
  get requests(): number {
    return this.calls + this.cost.requests;
  }
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, { ...options, cost: this.cost });
  }
  head(key: string) {
    this.calls++;
    return this.inner.head(key);
  }
  delete(key: string) {
    this.calls++;
    return this.inner.delete(key);
  }
}

const fileName = (hour: string, name: string) => `dt=2024-05-01/hour=${hour}/${name}.parquet`;
const remove = (path: string, deletionTimestamp: number): RemoveAction => ({ path, deletionTimestamp, dataChange: true });

/**
 * Per hour: one live file, REMOVED_PER_HOUR files removed long ago (still in the store), one
 * removed long ago and already deleted, one removed within the grace period. Version 7: no checkpoint.
 */
async function tableWithTombstones(store: ObjectStore): Promise<{ snapshot: Snapshot; expiredInStore: string[]; kept: string[] }> {
  const expiredInStore: string[] = [];
  const kept: string[] = [];
  const snapshot = applyActions(emptySnapshot(), 7, []);
  for (const hour of HOURS) {
    const live = fileName(hour, 'live');
    snapshot.files.set(live, { path: live, partitionValues: { dt: '2024-05-01', hour }, size: 1, modificationTime: NOW, dataChange: true });
    kept.push(live);
    for (let i = 0; i < REMOVED_PER_HOUR; i++) {
      const path = fileName(hour, `old-${i}`);
      snapshot.tombstones.set(path, remove(path, NOW - 2 * GRACE_MS));
      expiredInStore.push(dataFileKey(table, path));
    }
    const gone = fileName(hour, 'gone');
    snapshot.tombstones.set(gone, remove(gone, NOW - 2 * GRACE_MS));
    const recent = fileName(hour, 'recent');
    snapshot.tombstones.set(recent, remove(recent, NOW - GRACE_MS / 2));
    kept.push(recent);
  }
  for (const key of [...expiredInStore, ...kept.map((path) => dataFileKey(table, path))]) await store.putBytes(key, 'parquet bytes');
  return { snapshot, expiredInStore, kept };
}

/** As after a commit to hour 10: its folder's listing finds the expired tombstones and the orphans both. */
const tidy = (store: CountingStore, snapshot: Snapshot) =>
  tidyTable(store as unknown as ObjectStore, table, snapshot, {
    partition: { dt: '2024-05-01', hour: HOURS[0]! },
    checkpointInterval: 10,
    gracePeriodMs: GRACE_MS,
    logRetentionMs: 30 * 86_400_000,
    now: new Date(NOW),
  });

describe.each([localFolder, s3])('housekeeping requests on $name', (adapter) => {
  beforeAll(() => adapter.start(), 120_000);
  afterAll(() => adapter.stop());

  it('deletes the expired tombstones still in the store with a listing per partition folder, not a HEAD per tombstone', async () => {
    const store = await adapter.newStore();
    const { snapshot, expiredInStore, kept } = await tableWithTombstones(store);
    const counting = new CountingStore(store);

    const first = await tidy(counting, snapshot);
    expect(first.deletedFiles).toEqual(expiredInStore);
    for (const key of expiredInStore) expect(await store.head(key)).toBeUndefined();
    for (const path of kept) expect(await store.head(dataFileKey(table, path))).toBeDefined();
    const firstRequests = counting.requests;

    // The next commit meets the same tombstones (no checkpoint has dropped them yet): nothing left to delete.
    const second = await tidy(counting, snapshot);
    expect(second.deletedFiles).toEqual([]);
    const secondRequests = counting.requests - firstRequests;

    // Before, a HEAD per expired tombstone: 27 requests, then 15 at every later commit.
    // One listing per folder holding expired tombstones, plus a DELETE per file actually deleted.
    expect(firstRequests).toBe(HOURS.length + expiredInStore.length);
    expect(secondRequests).toBe(HOURS.length);
  });
});
