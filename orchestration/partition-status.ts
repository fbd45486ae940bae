import type { Config } from '../schemas/config.ts';
import type { LedgerEntry } from '../schemas/ledger.ts';
import { PUBLISHED_TABLES } from '../schemas/tables/index.ts';
import { discoverObjects, type InputObject } from '../jobs/hourly-etl.ts';
import { loadSnapshot } from '../lib/delta/delta-log.ts';
import { publishedPartitions } from '../lib/delta/published-partitions.ts';
import type { Snapshot } from '../lib/delta/snapshot.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';

/**
 * What an operator needs to know about one event hour:
 * - `published`: every table's manifest holds the same run, and the hour's raw objects are
 *   still the ones that run read;
 * - `late`: published, but objects were added, changed or removed since (a rerun will replace it);
 * - `outdated`: published from the same objects, but with reference data or rules that have
 *   changed since (a backfill reruns it; the scheduler does not, a rules change may be meant to
 *   apply from now on);
 * - `incomplete`: the tables' manifests disagree or some are missing (a run died between two
 *   manifest commits), or the ledger has no record of the published run;
 * - `failed`: the latest attempt failed (the partition may still hold an older version);
 * - `missing`: never published and never attempted.
 */
export type PartitionState = 'published' | 'late' | 'outdated' | 'incomplete' | 'failed' | 'missing';

export interface InputChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface PartitionStatus {
  hour: string;
  state: PartitionState;
  /** The published run (from the manifests), if any. */
  runId: string | null;
  attemptId: string | null;
  committedAt: string | null;
  flows: number | null;
  /** The latest ledger entry for the hour. */
  lastStatus: LedgerEntry['status'] | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  /** How the current raw objects differ from the published run's inputs (when compared). */
  changes: InputChanges | null;
}

/** Every UTC hour start from `from` to `to`, both included. */
export function hoursBetween(from: Date, to: Date): Date[] {
  const hours: Date[] = [];
  for (let t = from.getTime(); t <= to.getTime(); t += 3_600_000) hours.push(new Date(t));
  return hours;
}

export function hourKey(hour: Date): string {
  return hour.toISOString().slice(0, 13);
}

/** Compares the objects a discovery finds now with the inputs the published run read. */
export function diffInputs(published: readonly InputObject[], current: readonly InputObject[]): InputChanges {
  const before = new Map(published.map((input) => [input.key, input]));
  const changes: InputChanges = { added: [], changed: [], removed: [] };
  for (const input of current) {
    const old = before.get(input.key);
    if (!old) changes.added.push(input.key);
    else if (old.etag !== input.etag || old.size !== input.size) changes.changed.push(input.key);
    before.delete(input.key);
  }
  changes.removed.push(...before.keys());
  return changes;
}

export function hasChanges(changes: InputChanges | null): boolean {
  return changes !== null && changes.added.length + changes.changed.length + changes.removed.length > 0;
}

/** The latest snapshot of every table the hourly job publishes: what a status pass over many hours reads once. */
export async function publishedSnapshots(store: ObjectStore): Promise<Map<string, Snapshot>> {
  return new Map(await Promise.all(PUBLISHED_TABLES.map(async (table) => [table.name, await loadSnapshot(store, table)] as const)));
}

export async function partitionStatus(options: {
  store: ObjectStore;
  config: Config;
  hour: Date;
  /** Ledger entries of this hour, oldest first. */
  entries: readonly LedgerEntry[];
  /** One snapshot per published table (by name) to read every hour's status from; else each table's latest is loaded. */
  snapshots?: ReadonlyMap<string, Snapshot>;
  /** List the hour's raw objects now and compare them with the published run's inputs. */
  compareInputs: boolean;
  /** The reference data and rules hashes a run would use now; when given, a published run with others is `outdated`. */
  currentReference?: { referenceHash: string; rulesHash: string };
}): Promise<PartitionStatus> {
  const { store, config, hour, entries } = options;
  const partition = partitionOf(hour);
  const manifests = await Promise.all(
    PUBLISHED_TABLES.map(async (table) => {
      const snapshot = options.snapshots?.get(table.name) ?? (await loadSnapshot(store, table));
      return publishedPartitions(snapshot, table, (p) => p.dt === partition.dt && p.hour === partition.hour)[0];
    }),
  );
  const flows = manifests[PUBLISHED_TABLES.findIndex((table) => table.name === 'flows')];
  const any = manifests.find((manifest) => manifest !== undefined);
  const last = entries.at(-1);
  const status: PartitionStatus = {
    hour: hourKey(hour),
    state: 'missing',
    runId: any?.run_id ?? null,
    attemptId: any?.attempt_id ?? null,
    committedAt: any?.committed_at ?? null,
    flows: flows?.rows ?? null,
    lastStatus: last?.status ?? null,
    lastAttemptAt: last?.finished_at ?? null,
    lastError: last?.status === 'failed' ? last.error : null,
    changes: null,
  };
  if (!any) {
    status.state = last?.status === 'failed' ? 'failed' : 'missing';
    return status;
  }
  const consistent = manifests.every((manifest) => manifest?.run_id === any.run_id);
  const record = [...entries].reverse().find((entry) => entry.status === 'published' && entry.run_id === any.run_id);
  if (options.compareInputs && record) {
    const current = (await discoverObjects(store, config, hour)).map((object) => ({ source_type: object.sourceType, key: object.key, etag: object.etag, size: object.size }));
    status.changes = diffInputs(record.inputs, current);
  }
  if (last?.status === 'failed') status.state = 'failed';
  else if (!consistent || !record) status.state = 'incomplete';
  else if (hasChanges(status.changes)) status.state = 'late';
  else if (options.currentReference && (record.reference_hash !== options.currentReference.referenceHash || record.rules_hash !== options.currentReference.rulesHash)) {
    status.state = 'outdated';
  } else status.state = 'published';
  return status;
}

/** Ledger entries grouped by hour, each group oldest first. */
export function entriesByHour(entries: readonly LedgerEntry[]): Map<string, LedgerEntry[]> {
  const byHour = new Map<string, LedgerEntry[]>();
  for (const entry of entries) {
    const list = byHour.get(entry.hour) ?? [];
    list.push(entry);
    byHour.set(entry.hour, list);
  }
  return byHour;
}
