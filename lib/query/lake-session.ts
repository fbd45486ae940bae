import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { listManifests, readManifest } from '../publish/manifest-store.ts';
import { parseManifestKey, tablePrefix } from '../publish/partition-keys.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ocsfViewSql } from '../ocsf/ocsf-view-sql.ts';

export interface LakeSessionOptions {
  store: ObjectStore;
  /** Scratch folder; remote files are cached below it by content hash. */
  workDir: string;
  memoryLimit: string;
  maxTempDirectorySize: string;
  /** Only partitions this returns true for are read (reports and analytics read a time range); all when absent. */
  includePartition?: (table: string, partition: { dt: string; hour: string }) => boolean;
  /** Only these partition dates (`YYYY-MM-DD`) are listed, one prefix each: a report of a day does not list a year of partitions. */
  dates?: readonly string[];
}

export interface LakeSession {
  session: DuckDbSession;
  /** Files behind each view, for people who want to know what they are reading. */
  files: Record<string, string[]>;
  /** The manifests the views were built from, per table (what a report cites as its inputs). */
  manifests: Record<string, Manifest[]>;
  /** The session's own scratch folder (readable and writable by it), removed by close(). */
  scratchDir: string;
  close(): Promise<void>;
}

/**
 * Opens a locked-down DuckDB session with one view per curated table over the latest published
 * version of every partition. Files are resolved only through manifests, so half-published or
 * superseded versions are never read.
 */
export async function openLakeSession(options: LakeSessionOptions): Promise<LakeSession> {
  const scratch = path.resolve(options.workDir, 'query', randomUUID());
  const cacheDir = path.resolve(options.workDir, 'query-cache');
  await mkdir(scratch, { recursive: true });
  await mkdir(cacheDir, { recursive: true });
  const files: Record<string, string[]> = {};
  const manifests: Record<string, Manifest[]> = {};
  const readable = new Set<string>([cacheDir]);
  for (const table of QUERYABLE_TABLES) {
    files[table.name] = [];
    manifests[table.name] = [];
    const listed = options.dates ? (await Promise.all(options.dates.map((dt) => listManifestsOfDate(options.store, table, dt)))).flat() : await listManifests(options.store, table);
    for (const manifest of listed) {
      if (options.includePartition && !options.includePartition(table.name, { dt: manifest.dt, hour: manifest.hour })) continue;
      manifests[table.name]!.push(manifest);
      for (const file of manifest.files) {
        const local = options.store.localPathOf?.(file.key);
        if (local) {
          readable.add(path.dirname(local));
          files[table.name]!.push(local);
        } else {
          const cached = path.join(cacheDir, `${file.sha256}.${manifest.format === 'parquet' ? 'parquet' : 'ndjson'}`);
          await options.store.getToFile(file.key, cached);
          files[table.name]!.push(cached);
        }
      }
    }
  }
  const session = await DuckDbSession.open({
    workDir: scratch,
    readableDirs: [...readable],
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
    scratchDir: scratch,
    close: async () => {
      session.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

function viewSql(table: TableDefinition, files: string[]): string {
  const name = sqlIdentifier(table.name);
  if (files.length === 0) {
    const empty = table.columns.map((col) => `CAST(NULL AS ${col.type}) AS ${sqlIdentifier(col.name)}`).join(', ');
    return `CREATE VIEW ${name} AS SELECT ${empty} WHERE false`;
  }
  const list = `[${files.map(sqlString).join(', ')}]`;
  if (table.format === 'parquet') return `CREATE VIEW ${name} AS SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false)`;
  const columns = table.columns.map((col) => `${sqlString(col.name)}: ${sqlString(col.type)}`).join(', ');
  return `CREATE VIEW ${name} AS SELECT * FROM read_json(${list}, format = 'newline_delimited', hive_partitioning = false, columns = {${columns}})`;
}

async function listManifestsOfDate(store: ObjectStore, table: TableDefinition, dt: string): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  const prefix = `${tablePrefix(table)}dt=${dt}/`;
  for await (const object of store.list(prefix)) {
    const partition = parseManifestKey(object.key);
    if (!partition || object.key !== `${prefix}hour=${partition.hour}/_manifest.json`) continue;
    const manifest = await readManifest(store, table, partition);
    if (manifest) manifests.push(manifest);
  }
  return manifests.sort((a, b) => a.hour.localeCompare(b.hour));
}
