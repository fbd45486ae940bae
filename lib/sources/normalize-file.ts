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
import { stageObjects } from '../staging/stage-objects.ts';
import { unionOfSources } from './all-sources-model.ts';
import { SOURCES, sourceByType } from './registry.ts';
import type { SourceType } from './source-definition.ts';

export const DEFAULT_SQL_DIR = path.resolve(import.meta.dirname, '..', '..', 'sql');

export interface NormalizeFileOptions {
  file: string;
  sourceType: SourceType;
  /** The object key recorded as lineage (default: the file path as given). */
  objectKey?: string;
  /** AWS: the configured format for header-less text (sources.aws_vpc.format). */
  awsVpcFormat?: string;
  sqlDir?: string;
  limits?: StageLimits;
  /** Called with the NDJSON file of normalized flows (flows column names) before the work folder is removed. */
  onFlowsFile?: (file: string) => Promise<void>;
  /** Also return the flows as rows (tests). */
  collectRows?: boolean;
  memoryLimit?: string;
  threads?: number;
}

export interface QuarantinedRecord {
  raw_offset: number | null;
  reason: string;
  raw_text: string | null;
}

export interface NormalizeFileResult {
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
  rows?: Record<string, unknown>[];
}

/**
 * Normalizes one local raw file through exactly what the hourly job runs: the same staging
 * (limits, gzip check, per-line rejects), the same normalize models and the flow projection of
 * `sql/enrich/flows_in_hour.sql` (flow id, Community ID), with the hour filter open to every time.
 * Used by `netflow inspect`, the source contract tests and the sources benchmark.
 */
export async function normalizeFile(options: NormalizeFileOptions): Promise<NormalizeFileResult> {
  const source = sourceByType(options.sourceType);
  const objectKey = options.objectKey ?? options.file;
  const { size } = await stat(options.file);
  const workDir = await mkdtemp(path.join(tmpdir(), 'netflow-normalize-'));
  let session: DuckDbSession | undefined;
  try {
    const staging = await stageObjects({
      store: { getToFile: async (_key, localPath) => { await mkdir(path.dirname(localPath), { recursive: true }); await copyFile(options.file, localPath); return { key: objectKey, etag: '', size, lastModified: new Date(0) }; } },
      objects: [{ key: objectKey, etag: '', size, lastModified: new Date(0), sourceType: source.sourceType, regionHint: source.regionHint?.(objectKey) ?? null }],
      workDir,
      limits: options.limits ?? DEFAULT_STAGE_LIMITS,
      concurrency: 1,
    });
    session = await DuckDbSession.open({ workDir, memoryLimit: options.memoryLimit ?? '1GB', maxTempDirectorySize: '4GB', ...(options.threads ? { threads: options.threads } : {}) });
    const sqlDir = options.sqlDir ?? DEFAULT_SQL_DIR;
    for (const macro of await loadMacroFiles(path.join(sqlDir, 'macros'))) await session.runScript(macro.sql);
    await session.run(`SET VARIABLE hour_start = CAST('-infinity' AS TIMESTAMP)`);
    await session.run(`SET VARIABLE hour_end = CAST('infinity' AS TIMESTAMP)`);
    await session.run(`SET VARIABLE run_id = 'inspect'`);
    await installStagedInputs(session, workDir, staging.objects, staging.rejects, { formatHints: { aws_vpc: options.awsVpcFormat } });
    const files = await loadModelFiles(sqlDir);
    const models = [...files.filter((model) => model.stage === 'normalize'), unionOfSources(SOURCES), ...files.filter((model) => model.name === 'flows_in_hour')];
    const run = await new ModelRunner(session, createLogger({ level: 'error', write: () => {} })).run(models, new Set(stagedRelations()));
    if (run.error) throw new Error(run.error);

    const [counts] = await session.all<Record<string, bigint>>(`SELECT
        count(*) AS records,
        count(*) FILTER (WHERE record_status = 'flow') AS flows,
        count(*) FILTER (WHERE record_status = 'nodata') AS nodata,
        count(*) FILTER (WHERE record_status = 'skipdata') AS skipdata,
        count(*) FILTER (WHERE record_status = 'invalid') AS invalid
      FROM all_sources__records`);
    const quarantine = await session.all<{ raw_offset: bigint | null; reason: string; raw_text: string | null }>(`
      SELECT raw_offset, invalid_reason AS reason, raw_text FROM all_sources__records WHERE record_status = 'invalid'
      UNION ALL
      SELECT raw_offset, reason, raw_text FROM stg_rejects
      ORDER BY raw_offset NULLS FIRST`);
    const available = new Set((await session.all<{ column_name: string }>(`DESCRIBE flows_in_hour`)).map((c) => c.column_name));
    const columns = flowsTable.columns.map((c) => c.name).filter((name) => available.has(name));
    const out = path.join(workDir, 'flows.ndjson');
    await session.run(`COPY (SELECT ${columns.map(sqlIdentifier).join(', ')} FROM flows_in_hour ORDER BY raw_offset) TO ${sqlString(out)} (FORMAT json)`);
    const rows = options.collectRows
      ? await session.all(`SELECT ${columns.map(sqlIdentifier).join(', ')} FROM flows_in_hour ORDER BY raw_offset`)
      : undefined;
    session.close();
    session = undefined;
    await options.onFlowsFile?.(out);
    const rejectedLines = staging.rejects.filter((reject) => reject.raw_offset !== null).length;
    return {
      sourceType: source.sourceType,
      recordsRead: Number(counts!.records) + rejectedLines,
      flows: Number(counts!.flows),
      nodata: Number(counts!.nodata),
      skipdata: Number(counts!.skipdata),
      quarantined: Number(counts!.invalid) + rejectedLines,
      objectQuarantined: staging.rejects.some((reject) => reject.raw_offset === null),
      quarantine: quarantine.map((q) => ({ raw_offset: q.raw_offset === null ? null : Number(q.raw_offset), reason: q.reason, raw_text: q.raw_text })),
      columns,
      ...(rows ? { rows } : {}),
    };
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
