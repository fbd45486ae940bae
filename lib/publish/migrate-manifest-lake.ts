import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { manifestSchema, type Manifest } from '../../schemas/manifest.ts';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { loadSnapshot } from '../delta/delta-log.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import { ENGINE_TYPES } from '../delta/column-types.ts';
import type { Logger } from '../log/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { publishPartition } from './publish-partition.ts';

/**
 * `netflow migrate`: converts a lake published with per-partition manifests
 * (`<root>/<table>/dt=…/hour=…/_manifest.json`, `_commits/`, `version=<attempt>/`) into Delta
 * tables, once. Each manifest's files are rewritten as Delta data files (timestamps adjusted to
 * UTC; the NDJSON of alerts and quarantine as Parquet; columns a file predates as NULL) and
 * published with the manifest's run id, one commit per partition; then the old objects go. A
 * partition the log already has is left as the log has it, so a migration that stopped halfway
 * is finished by running it again.
 */
const LEGACY_ROOTS: Readonly<Record<string, string>> = { alerts: 'alerts', quarantine: 'quarantine' };

export interface MigrationResult {
  partitions: number;
  rows: number;
  deletedObjects: number;
  tables: Record<string, number>;
}

export function legacyTablePrefix(table: TableDefinition): string {
  return `${LEGACY_ROOTS[table.name] ?? table.root}/${table.name}/`;
}

export async function migrateManifestLake(options: { store: ObjectStore; workDir: string; logger: Logger; gracePeriodMs?: number }): Promise<MigrationResult> {
  const { store, logger } = options;
  const result: MigrationResult = { partitions: 0, rows: 0, deletedObjects: 0, tables: {} };
  const scratch = path.resolve(options.workDir, 'migrate');
  await mkdir(scratch, { recursive: true });
  try {
    for (const table of QUERYABLE_TABLES) {
      const legacy = await legacyObjects(store, table);
      if (legacy.manifests.length === 0 && legacy.other.length === 0) continue;
      const snapshot = await loadSnapshot(store, table);
      // A partition the log has already (migrated before, or published since by a Delta writer) is newer than its manifest.
      const inLog = new Set([...snapshot.files.values()].map((add) => `${add.partitionValues.dt}T${add.partitionValues.hour}`));
      result.tables[table.name] = 0;
      for (const manifest of legacy.manifests) {
        if (!inLog.has(`${manifest.dt}T${manifest.hour}`)) {
          const dir = path.join(scratch, table.name, `${manifest.dt}T${manifest.hour}`);
          await mkdir(dir, { recursive: true });
          const files = await convertFiles(store, table, manifest, dir);
          await publishPartition({
            store,
            partition: { dt: manifest.dt, hour: manifest.hour },
            runId: manifest.run_id,
            attemptId: `migrated-${manifest.attempt_id}`,
            tables: [{ table, files }],
            logger,
            now: () => new Date(),
            gracePeriodMs: options.gracePeriodMs ?? 0,
          });
          await rm(dir, { recursive: true, force: true });
        }
        result.partitions++;
        result.rows += manifest.rows;
        result.tables[table.name]!++;
      }
      // Only once every partition of the table is in its log: the manifests, claims and version folders.
      for (const key of [...legacy.other, ...legacy.manifestKeys]) {
        await store.delete(key);
        result.deletedObjects++;
      }
      logger.info('table migrated to delta', { table: table.name, partitions: result.tables[table.name] });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return result;
}

/** The table's manifests and every other object of the old layout (claims, version folders). */
async function legacyObjects(store: ObjectStore, table: TableDefinition): Promise<{ manifests: Manifest[]; manifestKeys: string[]; other: string[] }> {
  const prefix = legacyTablePrefix(table);
  const manifests: Manifest[] = [];
  const manifestKeys: string[] = [];
  const other: string[] = [];
  for await (const object of store.list(prefix)) {
    const rest = object.key.slice(prefix.length);
    if (/^dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/_manifest\.json$/.test(rest)) {
      const body = await store.getBytes(object.key);
      const parsed = manifestSchema.safeParse(JSON.parse(body?.toString('utf8') ?? 'null'));
      if (!parsed.success) throw new Error(`manifest ${object.key} is not valid: ${parsed.error.message}`);
      manifests.push(parsed.data);
      manifestKeys.push(object.key);
    } else if (/^dt=[^/]+\/hour=[^/]+\/(_commits|version=[^/]+)\//.test(rest)) {
      other.push(object.key);
    }
  }
  return { manifests, manifestKeys, other };
}

/** Each file of the manifest rewritten as a Delta data file of the table. */
async function convertFiles(store: ObjectStore, table: TableDefinition, manifest: Manifest, dir: string): Promise<{ localPath: string; rows: number }[]> {
  const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '1GB', maxTempDirectorySize: '4GB' });
  try {
    const files = [];
    for (const [index, file] of manifest.files.entries()) {
      const source = path.join(dir, `source-${index}`);
      await store.getToFile(file.key, source);
      const reader =
        manifest.format === 'parquet'
          ? `read_parquet(${sqlString(source)})`
          : `read_json(${sqlString(source)}, format = 'newline_delimited', columns = {${table.columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}})`;
      const present = new Set((await session.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${reader}`)).map((row) => row.column_name));
      const projection = table.columns.map(
        (column) => `CAST(${present.has(column.name) ? sqlIdentifier(column.name) : 'NULL'} AS ${ENGINE_TYPES[column.type].duckdb}) AS ${sqlIdentifier(column.name)}`,
      );
      const target = path.join(dir, `part-${index}.parquet`);
      const [copied] = await session.all<{ Count: bigint }>(`COPY (SELECT ${projection.join(', ')} FROM ${reader}) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd)`);
      if (Number(copied!.Count) !== file.rows) throw new Error(`${file.key} holds ${copied!.Count} rows, its manifest says ${file.rows}`);
      files.push({ localPath: target, rows: file.rows });
    }
    return files;
  } finally {
    session.close();
  }
}
