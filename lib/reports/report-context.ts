import path from 'node:path';
import type { Config } from '../../schemas/config.ts';
import type { LedgerEntry } from '../../schemas/ledger.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import type { Logger } from '../log/logger.ts';
import { openLakeSession, type LakeSession } from '../query/lake-session.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** The run ledger as the reports read it: a port; orchestration/run-ledger.ts is the embedded adapter. */
export interface LedgerReader {
  entries(): Promise<LedgerEntry[]>;
}

/** What a report needs: the configuration (and its folder), the store, the run ledger, a logger, and a clock. */
export interface ReportContext {
  config: Config;
  baseDir: string;
  store: ObjectStore;
  ledger: LedgerReader;
  logger: Logger;
  now?: () => Date;
}

/** One input file of a report, as its manifest names it: anyone can hash the object and compare. */
export interface InputFile {
  table: string;
  dt: string;
  hour: string;
  run_id: string;
  attempt_id: string;
  committed_at: string;
  key: string;
  sha256: string;
  rows: number;
  bytes: number;
}

export function openReportLake(context: Pick<ReportContext, 'config' | 'baseDir' | 'store'>, include: (table: string, partition: { dt: string; hour: string }) => boolean, dates?: readonly string[]): Promise<LakeSession> {
  return openLakeSession({
    store: context.store,
    workDir: path.resolve(context.baseDir, context.config.work_dir),
    memoryLimit: context.config.duckdb.memory_limit,
    maxTempDirectorySize: context.config.duckdb.max_temp_directory_size,
    includePartition: include,
    ...(dates ? { dates } : {}),
  });
}

export function inputFilesOf(manifests: Record<string, Manifest[]>): InputFile[] {
  return Object.entries(manifests)
    .flatMap(([table, list]) =>
      list.flatMap((manifest) =>
        manifest.files.map((file) => ({
          table,
          dt: manifest.dt,
          hour: manifest.hour,
          run_id: manifest.run_id,
          attempt_id: manifest.attempt_id,
          committed_at: manifest.committed_at,
          key: file.key,
          sha256: file.sha256,
          rows: file.rows,
          bytes: file.bytes,
        })),
      ),
    )
    .sort((a, b) => a.table.localeCompare(b.table) || a.dt.localeCompare(b.dt) || a.hour.localeCompare(b.hour) || a.key.localeCompare(b.key));
}

/** DuckDB rows to plain JSON values: BIGINT to number, everything else as is. */
export function plain<T>(rows: Record<string, unknown>[]): T[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value]))) as T[];
}
