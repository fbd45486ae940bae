import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { flowsTable } from '../../schemas/tables/flows.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../duckdb/duckdb-session.ts';
import { createLogger } from '../log/logger.ts';
import { loadModelFiles } from '../models/model-definition.ts';
import { ModelRunner } from '../models/model-runner.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { installStagedInputs, stagedRelations } from '../staging/install-staged-inputs.ts';
import { DEFAULT_STAGE_LIMITS, type StageLimits } from '../staging/stage-lines.ts';
import { stageObjects, type DiscoveredObject } from '../staging/stage-objects.ts';
import { generatedSourceModels } from './all-sources-model.ts';
import { SOURCES, sourceByType } from './registry.ts';
import { STAGING_SOURCES } from './staging-sources.ts';
import type { SourceType } from './source-definition.ts';
import { packagePath } from '../process/package-root.ts';

export const DEFAULT_SQL_DIR = packagePath('sql');

export interface LocalRawFile {
  file: string;
  sourceType: SourceType;
  /** The object key recorded as lineage (default: the file path as given); unique per call. */
  objectKey?: string;
}

export interface NormalizeOptions {
  /** AWS: the configured format for header-less text (sources.aws_vpc.format). */
  awsVpcFormat?: string;
  sqlDir?: string;
  limits?: StageLimits;
  /** Called with the NDJSON file of every normalized flow (flows column names) before the work folder is removed. */
  onFlowsFile?: (file: string) => Promise<void>;
  /** Also return the flows as rows (tests). */
  collectRows?: boolean;
  memoryLimit?: string;
  threads?: number;
  /** False: no record typed while staging, every one parsed by its model (tests compare both paths). */
  typeLines?: boolean;
}

export interface QuarantinedRecord {
  raw_offset: number | null;
  reason: string;
  raw_text: string | null;
}

export interface NormalizeFileResult {
  objectKey: string;
  sourceType: SourceType;
  recordsRead: number;
  flows: number;
  nodata: number;
  skipdata: number;
  quarantined: number;
  objectQuarantined: boolean;
  quarantine: QuarantinedRecord[];
  /** Columns of the normalized flows, in `flows` order. */
  columns: string[];
  /** DuckDB type of each column, as the models produce it. */
  columnTypes: Record<string, string>;
  /** The file's flows ordered by raw_offset, when collectRows is set. */
  rows?: Record<string, unknown>[];
}

/**
 * Normalizes local raw files through exactly what the hourly job runs: the same staging (limits,
 * gzip check, per-line rejects), the same normalize models and the flow projection of
 * `sql/enrich/flows_in_hour.sql` (flow id, Community ID), with the hour filter open to every
 * time. One DuckDB session serves every file of a call. Used by `netflow inspect`, the source
 * contract and bad-input tests, and the sources benchmark.
 */
export async function normalizeFiles(files: readonly LocalRawFile[], options: NormalizeOptions = {}): Promise<NormalizeFileResult[]> {
  const objects: (DiscoveredObject & { localFile: string })[] = [];
  for (const item of files) {
    const source = sourceByType(item.sourceType);
    const key = item.objectKey ?? item.file;
    const { size } = await stat(item.file);
    objects.push({ key, etag: '', size, lastModified: new Date(0), sourceType: source.sourceType, regionHint: source.regionHint?.(key) ?? null, localFile: item.file });
  }
  if (new Set(objects.map((o) => o.key)).size !== objects.length) throw new Error('normalizeFiles: object keys must be unique');
  // Staging refuses keys that could escape a folder (absolute paths, `..`); a local file is named
  // by its position while staged, and by its path (the lineage) from then on.
  // The file name is kept for what the source reads from it (AWS: `.parquet`).
  const stagingKey = (index: number) => `local/${index}/${path.basename(objects[index]!.key).replace(/^\.+/, '') || 'file'}`;
  const byKey = new Map(objects.map((o, index) => [stagingKey(index), o]));
  const workDir = await mkdtemp(path.join(tmpdir(), 'netflow-normalize-'));
  let session: DuckDbSession | undefined;
  try {
    const staging = await stageObjects({
      sources: STAGING_SOURCES,
      store: {
        getToFile: async (key, localPath) => {
          const object = byKey.get(key)!;
          await mkdir(path.dirname(localPath), { recursive: true });
          await copyFile(object.localFile, localPath);
          return object;
        },
      },
      objects: objects.map((object, index) => ({ ...object, key: stagingKey(index) })),
      workDir,
      limits: options.limits ?? DEFAULT_STAGE_LIMITS,
      concurrency: 2,
      formatHints: { aws_vpc: options.awsVpcFormat },
      typeLines: options.typeLines,
    });
    for (const item of staging.objects) item.object = { ...item.object, key: byKey.get(item.object.key)!.key };
    for (const reject of staging.rejects) reject.raw_object_key = byKey.get(reject.raw_object_key)!.key;
    session = await DuckDbSession.open({ workDir, memoryLimit: options.memoryLimit ?? '1GB', maxTempDirectorySize: '4GB', ...(options.threads ? { threads: options.threads } : {}) });
    const sqlDir = options.sqlDir ?? DEFAULT_SQL_DIR;
    for (const macro of await loadMacroFiles(path.join(sqlDir, 'macros'))) await session.runScript(macro.sql);
    await session.run(`SET VARIABLE hour_start = CAST('-infinity' AS TIMESTAMP)`);
    await session.run(`SET VARIABLE hour_end = CAST('infinity' AS TIMESTAMP)`);
    await session.run(`SET VARIABLE run_id = 'inspect'`);
    await installStagedInputs(session, workDir, staging.objects, staging.rejects, { sources: STAGING_SOURCES.all, formatHints: { aws_vpc: options.awsVpcFormat } });
    const modelFiles = await loadModelFiles(sqlDir);
    const models = [...modelFiles.filter((model) => model.stage === 'normalize'), ...generatedSourceModels(SOURCES), ...modelFiles.filter((model) => model.name === 'flows_in_hour')];
    const run = await new ModelRunner(session, createLogger({ level: 'error', write: () => {} })).run(models, new Set(stagedRelations(STAGING_SOURCES.all)));
    if (run.error) throw new Error(run.error);

    const counts = await session.all<{ key: string; records: bigint; flows: bigint; nodata: bigint; skipdata: bigint; invalid: bigint }>(`SELECT
        raw_object_key AS key,
        count(*) AS records,
        count(*) FILTER (WHERE record_status = 'flow') AS flows,
        count(*) FILTER (WHERE record_status = 'nodata') AS nodata,
        count(*) FILTER (WHERE record_status = 'skipdata') AS skipdata,
        count(*) FILTER (WHERE record_status = 'invalid') AS invalid
      FROM all_sources__records GROUP BY 1`);
    const quarantine = await session.all<{ key: string; raw_offset: bigint | null; reason: string; raw_text: string | null }>(`
      SELECT raw_object_key AS key, raw_offset, invalid_reason AS reason, raw_text FROM all_sources__records WHERE record_status = 'invalid'
      UNION ALL
      SELECT raw_object_key, raw_offset, reason, raw_text FROM stg_rejects
      ORDER BY key, raw_offset NULLS FIRST`);
    // The flows as the flows mart identifies them (flows_in_hour leaves flow_id to its writers).
    await session.run(`CREATE VIEW inspected_flows AS SELECT flow_id_of(source_type, raw_object_key, raw_offset) AS flow_id, * FROM flows_in_hour`);
    const described = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE inspected_flows`);
    const columnTypes = Object.fromEntries(described.map((c) => [c.column_name, c.column_type]));
    const columns = flowsTable.columns.map((c) => c.name).filter((name) => name in columnTypes);
    const projection = columns.map(sqlIdentifier).join(', ');
    const out = path.join(workDir, 'flows.ndjson');
    await session.run(`COPY (SELECT ${projection} FROM inspected_flows ORDER BY raw_object_key, raw_offset) TO ${sqlString(out)} (FORMAT json)`);
    const rows = options.collectRows ? await session.all(`SELECT ${projection} FROM inspected_flows ORDER BY raw_object_key, raw_offset`) : undefined;
    session.close();
    session = undefined;
    await options.onFlowsFile?.(out);
    return objects.map((object) => {
      const count = counts.find((c) => c.key === object.key);
      const rejects = staging.rejects.filter((reject) => reject.raw_object_key === object.key);
      const rejectedLines = rejects.filter((reject) => reject.raw_offset !== null).length;
      return {
        objectKey: object.key,
        sourceType: object.sourceType as SourceType,
        recordsRead: Number(count?.records ?? 0) + rejectedLines,
        flows: Number(count?.flows ?? 0),
        nodata: Number(count?.nodata ?? 0),
        skipdata: Number(count?.skipdata ?? 0),
        quarantined: Number(count?.invalid ?? 0) + rejectedLines,
        objectQuarantined: rejects.some((reject) => reject.raw_offset === null),
        quarantine: quarantine.filter((q) => q.key === object.key).map((q) => ({ raw_offset: q.raw_offset === null ? null : Number(q.raw_offset), reason: q.reason, raw_text: q.raw_text })),
        columns,
        columnTypes,
        ...(rows ? { rows: rows.filter((row) => row.raw_object_key === object.key) } : {}),
      };
    });
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** One file: see normalizeFiles. */
export async function normalizeFile(file: LocalRawFile, options: NormalizeOptions = {}): Promise<NormalizeFileResult> {
  return (await normalizeFiles([file], options))[0]!;
}
