import { createHash } from 'node:crypto';
import { estimatedStagingBytes } from '../staging/stage-objects.ts';

/** What the assignment needs of a listed object. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

/** `i/N`: shard i (0-based) of N. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Parses `i/N` (0 ≤ i < N); throws naming what is wrong. */
export function parseShardSpec(text: string): ShardSpec {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`--shard takes i/N, shard i (0-based) of N, for example 0/4: got "${text}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > 10_000) throw new Error(`--shard ${text}: N must be between 1 and 10000`);
  if (index >= count) throw new Error(`--shard ${text}: i must be below N (shards are numbered 0 to ${count - 1})`);
  return { index, count };
}

/**
 * The objects that must stay in one shard, as one key per object: an Azure NSG tuple counts in
 * totals only when no VNet flow log of its NIC is read in the hour (sql/normalize/azure_nsg__records.sql),
 * so the NSG and VNet objects of one MAC address (a `macAddress=` folder of both layouts) go together.
 */
export function affinityOf(key: string): string {
  const mac = /\/macAddress=([^/]+)\//.exec(key);
  return mac ? `mac:${mac[1]!.toUpperCase()}` : `key:${key}`;
}

/**
 * Splits an hour's listed objects into `count` shards balanced by bytes to process (a gzip
 * object's listed size times its expansion: estimatedStagingBytes, as a shard's work follows the
 * records, not the compressed bytes): groups of objects that must stay together (affinityOf),
 * largest first, each onto the least-loaded shard, ties to the lowest shard number. Groups are ordered by size, then by their key, so the same listing gives
 * the same assignment on every worker and at the commit, whatever order it was listed in.
 * Returns, per shard, its objects' keys in key order.
 */
export function assignShards(objects: readonly ListedObject[], count: number): string[][] {
  const groups = new Map<string, { affinity: string; bytes: number; keys: string[] }>();
  for (const object of objects) {
    const affinity = affinityOf(object.key);
    const group = groups.get(affinity) ?? { affinity, bytes: 0, keys: [] };
    group.bytes += estimatedStagingBytes(object);
    group.keys.push(object.key);
    groups.set(affinity, group);
  }
  const ordered = [...groups.values()].sort((a, b) => b.bytes - a.bytes || (a.affinity < b.affinity ? -1 : a.affinity > b.affinity ? 1 : 0));
  const loads = Array.from({ length: count }, () => 0);
  const shards: string[][] = Array.from({ length: count }, () => []);
  for (const group of ordered) {
    let lightest = 0;
    for (let shard = 1; shard < count; shard++) if (loads[shard]! < loads[lightest]!) lightest = shard;
    loads[lightest]! += group.bytes;
    shards[lightest]!.push(...group.keys);
  }
  return shards.map((keys) => keys.sort());
}

/** A digest of a listing (every object's key, ETag and size, in key order): shards of one listing share it. */
export function listingDigest(objects: readonly ListedObject[]): string {
  const hash = createHash('sha256');
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) hash.update(`${object.key}\t${object.etag}\t${object.size}\n`);
  return hash.digest('hex').slice(0, 16);
}
