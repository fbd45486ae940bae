import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { LateObject } from '../sources/late-objects.ts';
import type { DiscoveredObject } from '../staging/stage-objects.ts';
import { ObjectExistsError, type ObjectStore } from '../storage/object-store.ts';
import type { ShardSpec } from './shard-assignment.ts';

/**
 * Where the shards of an hour leave their work for the commit, in the lake's object store:
 *
 *   _shards/<YYYY-MM-DDTHH>/listing.json                         the listing every worker uses (first writer wins)
 *   _shards/<YYYY-MM-DDTHH>/<run id>/<i>-of-<N>/<attempt>/<relation>.parquet   one attempt's outputs
 *   _shards/<YYYY-MM-DDTHH>/<run id>/<i>-of-<N>/done.json          written last: which attempt, its files' hashes
 *   _shards/<YYYY-MM-DDTHH>/<run id>/parts/<j>-of-<M>/<attempt>/…, done.json   a commit part's (netflow commit --part j/M), alike
 *
 * The run id names the listing, the reference data and the rules (jobs/hourly-etl.ts), so shards
 * of another listing never share a folder. A rerun of a shard writes a new attempt, then
 * replaces done.json, then deletes the earlier attempts' files; the commit reads only what
 * done.json names and deletes the hour's folder once it published.
 */
export const SHARDS_PREFIX = '_shards/';

export function hourStagingPrefix(hour: string): string {
  return `${SHARDS_PREFIX}${hour}/`;
}

export function shardPrefix(hour: string, runId: string, shard: ShardSpec): string {
  return `${hourStagingPrefix(hour)}${runId}/${shard.index}-of-${shard.count}/`;
}

export function partPrefix(hour: string, runId: string, part: ShardSpec): string {
  return `${hourStagingPrefix(hour)}${runId}/parts/${part.index}-of-${part.count}/`;
}

/** The listing of an hour that every shard and the commit use, whoever listed it first. */
export interface RecordedListing {
  listing_version: 1;
  hour: string;
  run_id: string;
  listing_digest: string;
  recorded_at: string;
  window: DiscoveredObject[];
  late: LateObject[];
}

/** A shard's done marker: written after all its files, naming them with their hashes. */
export interface ShardDone {
  done_version: 1;
  hour: string;
  run_id: string;
  shard: number;
  shards: number;
  attempt_id: string;
  /** The keys of the raw objects the shard read (its part of the assignment). */
  objects: string[];
  files: ShardFile[];
  finished_at: string;
}

/**
 * A commit part's done marker: its files (lib/scale-out/model-cut.ts PART_OUTPUTS, and the
 * published tables' data files it wrote), and the shard attempts it read, so that the final
 * commit refuses a part that read a shard rerun since.
 */
export interface PartDone {
  done_version: 1;
  hour: string;
  run_id: string;
  part: number;
  parts: number;
  shards: number;
  shard_attempts: string[];
  attempt_id: string;
  files: ShardFile[];
  finished_at: string;
}

export interface ShardFile {
  /** The relation it holds (lib/scale-out/model-cut.ts SHARD_OUTPUTS). */
  relation: string;
  key: string;
  size: number;
  sha256: string;
  rows: number;
}

/**
 * Records the hour's listing unless one is recorded already, and returns the one in force: a
 * worker that listed later (objects arrived meanwhile) uses the first worker's listing, so no
 * shard ever reads objects of another listing than the others.
 */
export async function recordListing(store: ObjectStore, listing: RecordedListing): Promise<{ listing: RecordedListing; recorded: boolean }> {
  const key = `${hourStagingPrefix(listing.hour)}listing.json`;
  try {
    await store.putBytes(key, `${JSON.stringify(listing)}\n`, { createOnly: true, contentType: 'application/json' });
    return { listing, recorded: true };
  } catch (error) {
    if (!(error instanceof ObjectExistsError)) throw error;
    const existing = await readListing(store, listing.hour);
    if (!existing) throw new Error(`the listing of hour ${listing.hour} exists but cannot be read: ${key}`, { cause: error });
    return { listing: existing, recorded: false };
  }
}

export async function readListing(store: ObjectStore, hour: string): Promise<RecordedListing | undefined> {
  const bytes = await store.getBytes(`${hourStagingPrefix(hour)}listing.json`);
  if (!bytes) return undefined;
  const parsed = JSON.parse(bytes.toString('utf8')) as RecordedListing;
  return {
    ...parsed,
    window: parsed.window.map((object) => ({ ...object, lastModified: new Date(object.lastModified) })),
    late: parsed.late.map((object) => ({ ...object, lastModified: new Date(object.lastModified), lateHours: object.lateHours.map((hour) => new Date(hour)) })),
  };
}

/** Uploads a shard attempt's files under its own attempt folder and returns them with their hashes. */
export async function uploadShardFiles(store: ObjectStore, prefix: string, attemptId: string, files: readonly { relation: string; localPath: string; rows: number }[]): Promise<ShardFile[]> {
  const uploaded: ShardFile[] = [];
  for (const file of files) {
    const key = `${prefix}${attemptId}/${file.relation}.parquet`;
    const sha256 = await sha256OfFile(file.localPath);
    const info = await store.putFile(key, file.localPath, { contentType: 'application/vnd.apache.parquet' });
    uploaded.push({ relation: file.relation, key, size: info.size, sha256, rows: file.rows });
  }
  return uploaded;
}

/** Writes the done marker last; then deletes every other attempt's files of the shard. */
export async function markShardDone(store: ObjectStore, prefix: string, done: ShardDone | PartDone): Promise<void> {
  await store.putBytes(`${prefix}done.json`, `${JSON.stringify(done)}\n`, { contentType: 'application/json' });
  const keep = `${prefix}${done.attempt_id}/`;
  const stale: string[] = [];
  for await (const object of store.list(prefix)) if (!object.key.startsWith(keep) && object.key !== `${prefix}done.json`) stale.push(object.key);
  for (const key of stale) await store.delete(key);
}

export async function readShardDone(store: ObjectStore, prefix: string): Promise<ShardDone | undefined> {
  return readDone<ShardDone>(store, prefix);
}

export async function readPartDone(store: ObjectStore, prefix: string): Promise<PartDone | undefined> {
  return readDone<PartDone>(store, prefix);
}

async function readDone<Done>(store: ObjectStore, prefix: string): Promise<Done | undefined> {
  const bytes = await store.getBytes(`${prefix}done.json`);
  return bytes ? (JSON.parse(bytes.toString('utf8')) as Done) : undefined;
}

/** Whether every file a done marker names is in the store with its recorded size (a HEAD each, no download). */
export async function shardFilesPresent(store: ObjectStore, done: { files: readonly ShardFile[] }): Promise<boolean> {
  for (const file of done.files) if ((await store.head(file.key))?.size !== file.size) return false;
  return true;
}

/** Every commit part's done marker of the hour, whatever its listing and part count. */
export async function listPartMarkers(store: ObjectStore, hour: string): Promise<{ runId: string; part: number; parts: number }[]> {
  const markers: { runId: string; part: number; parts: number }[] = [];
  const prefix = hourStagingPrefix(hour);
  for await (const object of store.list(prefix)) {
    const match = /^([^/]+)\/parts\/(\d+)-of-(\d+)\/done\.json$/.exec(object.key.slice(prefix.length));
    if (match) markers.push({ runId: match[1]!, part: Number(match[2]), parts: Number(match[3]) });
  }
  return markers;
}

/** Every done marker of the hour, whatever its listing and shard count (what the commit names when one is missing). */
export async function listShardMarkers(store: ObjectStore, hour: string): Promise<{ runId: string; shard: number; shards: number }[]> {
  const markers: { runId: string; shard: number; shards: number }[] = [];
  const prefix = hourStagingPrefix(hour);
  for await (const object of store.list(prefix)) {
    const match = /^([^/]+)\/(\d+)-of-(\d+)\/done\.json$/.exec(object.key.slice(prefix.length));
    if (match) markers.push({ runId: match[1]!, shard: Number(match[2]), shards: Number(match[3]) });
  }
  return markers;
}

/** Downloads a shard's files into `dir`, each checked against the size and hash its done marker gives; throws naming the file. */
export function downloadShardFiles(store: ObjectStore, done: ShardDone, dir: string, relations?: ReadonlySet<string>): Promise<Map<string, string>> {
  return downloadStagedFiles(store, `shard ${done.shard}/${done.shards}`, `${done.shard}-`, done.files, dir, relations);
}

/** Downloads a commit part's files into `dir`, checked as a shard's. */
export function downloadPartFiles(store: ObjectStore, done: PartDone, dir: string): Promise<Map<string, string>> {
  return downloadStagedFiles(store, `part ${done.part}/${done.parts}`, `part${done.part}-`, done.files, dir);
}

async function downloadStagedFiles(store: ObjectStore, owner: string, namePrefix: string, files: readonly ShardFile[], dir: string, relations?: ReadonlySet<string>): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const local = new Map<string, string>();
  for (const file of files) {
    if (relations && !relations.has(file.relation)) continue;
    const localPath = path.join(dir, `${namePrefix}${file.relation.replace(/[^a-z_]/g, '_')}.parquet`);
    try {
      await store.getToFile(file.key, localPath);
    } catch (error) {
      throw new Error(`${owner}: its file ${file.key} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    const sha256 = await sha256OfFile(localPath);
    if (sha256 !== file.sha256) throw new Error(`${owner}: its file ${file.key} is damaged (sha256 ${sha256}, its done marker says ${file.sha256})`);
    local.set(file.relation, localPath);
  }
  return local;
}

/** Deletes everything the shards of an hour left (after its commit). */
export async function removeHourStaging(store: ObjectStore, hour: string): Promise<number> {
  const keys: string[] = [];
  for await (const object of store.list(hourStagingPrefix(hour))) keys.push(object.key);
  // The listing last: shards of this listing that start meanwhile still find it.
  keys.sort((a, b) => Number(a.endsWith('/listing.json')) - Number(b.endsWith('/listing.json')));
  for (const key of keys) await store.delete(key);
  return keys.length;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
