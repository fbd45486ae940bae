import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import type { AddAction } from '../delta/delta-actions.ts';
import { loadSnapshot, versionAsOf } from '../delta/delta-log.ts';
import { dataFileKey } from '../delta/log-keys.ts';
import { publishedPartitions } from '../delta/published-partitions.ts';
import { filesOf } from '../delta/snapshot.ts';
import { sha256File } from '../publish/publish-partition.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ocsfViewSql } from '../ocsf/ocsf-view-sql.ts';

export interface LakeSessionOptions {
  store: ObjectStore;
  /** Scratch folder; remote files are cached below it by content hash. */
  workDir: string;
  memoryLimit: string;
  maxTempDirectorySize: string;
  /** Only partitions this returns true for are read (reports, analytics and `--from/--to` read a time range); all when absent. */
  includePartition?: (table: string, partition: { dt: string; hour: string }) => boolean;
  /** Only these partition dates (`YYYY-MM-DD`) are read. */
  dates?: readonly string[];
  /**
   * Read every table as of a moment, or the tables named (default all) at a version of their own
   * log, instead of the latest. A version number means something per table: flows' version 7 is
   * not alerts' version 7.
   */
  asOf?: { version: number; tables?: readonly string[] } | { timestamp: Date };
}

export interface LakeSession {
  session: DuckDbSession;
  /** Files behind each view, for people who want to know what they are reading. */
  files: Record<string, string[]>;
  /** The partitions the views were built from, per table (what a report cites as its inputs). */
  manifests: Record<string, Manifest[]>;
  /** The snapshot version read of each table (-1: the table has no commit yet). */
  versions: Record<string, number>;
  /** The session's own scratch folder (readable and writable by it), removed by close(). */
  scratchDir: string;
  close(): Promise<void>;
}

/** A published file whose bytes are not the ones its commit recorded. */
export class TamperedFileError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`published file ${key} does not match the Delta log: ${reason}; refusing to read it`);
    this.name = 'TamperedFileError';
  }
}

/**
 * Opens a locked-down DuckDB session with one view per curated table over one snapshot of its
 * Delta log: the files of the snapshot (only those partitions asked for), each checked against
 * the size and SHA-256 its `add` recorded before it is read. Nothing is listed: the partitions
 * come from the log's partition values, so a day's query opens that day's files only.
 */
export async function openLakeSession(options: LakeSessionOptions): Promise<LakeSession> {
  const scratch = path.resolve(options.workDir, 'query', randomUUID());
  const cacheDir = path.resolve(options.workDir, 'query-cache');
  await mkdir(scratch, { recursive: true });
  await mkdir(cacheDir, { recursive: true });
  const files: Record<string, string[]> = {};
  const manifests: Record<string, Manifest[]> = {};
  const versions: Record<string, number> = {};
  const dates = options.dates ? new Set(options.dates) : undefined;
  for (const table of QUERYABLE_TABLES) {
    const version = await versionToRead(options, table);
    const snapshot = version === -1 ? undefined : await loadSnapshot(options.store, table, version === undefined ? {} : { version });
    versions[table.name] = snapshot?.version ?? -1;
    const keep = (partition: { dt: string; hour: string }) => (!dates || dates.has(partition.dt)) && (!options.includePartition || options.includePartition(table.name, partition));
    const adds = snapshot ? filesOf(snapshot, keep) : [];
    manifests[table.name] = snapshot ? publishedPartitions(snapshot, table, keep) : [];
    files[table.name] = await Promise.all(adds.map((add) => verifiedLocalFile(options.store, table, add, cacheDir)));
  }
  const session = await DuckDbSession.open({
    workDir: scratch,
    readableFiles: Object.values(files).flat(),
    memoryLimit: options.memoryLimit,
    maxTempDirectorySize: options.maxTempDirectorySize,
  });
  try {
    for (const table of QUERYABLE_TABLES) await session.run(viewSql(table, files[table.name]!));
    await session.run(ocsfViewSql());
  } catch (error) {
    session.close();
    throw error;
  }
  return {
    session,
    files,
    manifests,
    versions,
    scratchDir: scratch,
    close: async () => {
      session.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** The version of the table the session reads: undefined for the latest, -1 for none (before its first commit). */
async function versionToRead(options: LakeSessionOptions, table: TableDefinition): Promise<number | undefined> {
  const asOf = options.asOf;
  if (!asOf) return undefined;
  if ('timestamp' in asOf) return versionAsOf(options.store, table, asOf.timestamp).catch(() => -1);
  return !asOf.tables || asOf.tables.includes(table.name) ? asOf.version : undefined;
}

/**
 * The local path DuckDB reads a data file from, after checking its size and hash against the
 * log: the store's own file when the store is a local folder, else a copy in the cache (named by
 * partition and hash, so that a view can read the partition columns from the path).
 */
async function verifiedLocalFile(store: ObjectStore, table: TableDefinition, add: AddAction, cacheDir: string): Promise<string> {
  const key = dataFileKey(table, add.path);
  let local = store.localPathOf?.(key);
  if (!local) {
    const name = add.tags?.sha256 ?? `${add.size}-${path.basename(add.path, '.parquet')}`;
    local = path.join(cacheDir, table.name, `dt=${add.partitionValues.dt}`, `hour=${add.partitionValues.hour}`, `${name}.parquet`);
    const cached = await stat(local).catch(() => undefined);
    if (!cached) {
      await mkdir(path.dirname(local), { recursive: true });
      await store.getToFile(key, local);
    }
  }
  const found = await stat(local).catch(() => undefined);
  if (!found) throw new TamperedFileError(key, 'it is missing');
  if (found.size !== add.size) throw new TamperedFileError(key, `${found.size} bytes, the log says ${add.size}`);
  if (add.tags?.sha256) {
    const sha256 = await sha256File(local);
    if (sha256 !== add.tags.sha256) {
      if (!store.localPathOf?.(key)) await rm(local, { force: true });
      throw new TamperedFileError(key, `SHA-256 ${sha256}, the log says ${add.tags.sha256}`);
    }
  }
  return local;
}

/** The table's contract columns (timestamps as UTC TIMESTAMP, as the contract declares them), then the partition columns from the file's path. */
function viewSql(table: TableDefinition, files: string[]): string {
  const name = sqlIdentifier(table.name);
  const columns = table.columns.map((col) => `CAST(${sqlIdentifier(col.name)} AS ${col.type}) AS ${sqlIdentifier(col.name)}`).join(', ');
  if (files.length === 0) {
    const empty = table.columns.map((col) => `CAST(NULL AS ${col.type}) AS ${sqlIdentifier(col.name)}`).join(', ');
    return `CREATE VIEW ${name} AS SELECT ${empty}, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS hour WHERE false`;
  }
  const list = `[${files.map(sqlString).join(', ')}]`;
  return `CREATE VIEW ${name} AS SELECT ${columns}, dt, hour FROM read_parquet(${list}, union_by_name = true, hive_partitioning = true, hive_types = {'dt': VARCHAR, 'hour': VARCHAR})`;
}
