import { mkdir, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import { unsafeKeyReason, type ObjectInfo, type ObjectStore } from '../storage/object-store.ts';
import { hasParquetMagic } from './stage-json-records.ts';
import { ObjectUnreadableError, type StagedLines, type StageLimits } from './stage-lines.ts';
import { StagingPool } from './staging-pool.ts';
import type { StagingKind, StagingSources } from './staging-source.ts';

export interface DiscoveredObject extends ObjectInfo {
  sourceType: string;
  regionHint: string | null;
}

export interface StagedObject {
  objectIdx: number;
  object: DiscoveredObject;
  staging: StagingKind;
  /** Staged line file (`lines`, `json-records`), absent when the object was quarantined whole. */
  linesPath?: string;
  /** Staged Parquet file (`parquet`), rendered as lines once DuckDB is open (install-staged-inputs.ts). */
  parquetPath?: string;
  stagedLines: number;
}

export interface StageReject {
  source_type: string;
  raw_object_key: string;
  raw_offset: number | null;
  reason: string;
  raw_text: string | null;
}

export interface StagingResult {
  objects: StagedObject[];
  rejects: StageReject[];
  bytesDownloaded: number;
}

/**
 * How much a gzip object grows when decompressed, to estimate its staging work from its listed
 * size: the bench's AWS flow logs grow 5.7x; real ones compress better, so this errs towards
 * fewer threads.
 */
const GZIP_EXPANSION = 6;

/**
 * The staging work, in estimated decompressed bytes, that pays for worker threads. One thread
 * stages ~15-25 ms of CPU a decompressed MiB (AWS text with its typer, Azure JSON alike; 2 cores,
 * load 2-3), so this is ~0.5-0.8 s of work; worker threads add ~0.25 s before the first one
 * stages (bundling their script, once per process, then its start) and ~0.3 s of CPU in all. A
 * threshold on listed bytes instead was off by the compression ratio: 8 MiB was ~0.85 s of AWS
 * gzip but ~0.2 s of Azure JSON, which a worker did not pay for.
 */
export const MIN_BYTES_FOR_WORKER_THREADS = 32 * 1024 * 1024;

/** The staging work of an object as the bytes it decompresses to, estimated from its key and listed size. */
export function estimatedStagingBytes(object: Pick<ObjectInfo, 'key' | 'size'>): number {
  return /\.gz$/i.test(object.key) ? object.size * GZIP_EXPANSION : object.size;
}

/**
 * How many objects to stage at once (stageObjects' `threads`): as configured, else every core
 * (DuckDB is idle while staging runs) once the objects are large enough to pay for worker
 * threads (MIN_BYTES_FOR_WORKER_THREADS); never more than there are objects.
 */
export function stagingThreads(toStage: readonly Pick<ObjectInfo, 'key' | 'size'>[], configured: number | undefined, available = availableParallelism()): number {
  const bytes = toStage.reduce((sum, object) => sum + estimatedStagingBytes(object), 0);
  return Math.max(1, Math.min(configured ?? (bytes >= MIN_BYTES_FOR_WORKER_THREADS ? available : 1), toStage.length));
}

/**
 * Downloads each discovered object into the work directory and stages it as a line file.
 * An object that cannot be read (corrupt gzip, too large, empty) is quarantined whole and the
 * run goes on; lines refused before parsing are quarantined one by one.
 */
export async function stageObjects(options: {
  /** Only downloads are needed, so a single local file can be staged too (netflow inspect). */
  store: Pick<ObjectStore, 'getToFile'>;
  /** The sources the objects belong to (lib/sources/staging-sources.ts), handed down by the caller. */
  sources: StagingSources;
  objects: DiscoveredObject[];
  workDir: string;
  limits: StageLimits;
  /** Objects downloaded and staged at once (default: 4, or two per staging thread past two threads). */
  concurrency?: number;
  /**
   * Objects staged at once, one in this thread and the others in worker threads (config
   * `staging.threads`; 1: no worker threads). Default: the machine's available parallelism, for
   * objects of MIN_BYTES_FOR_WORKER_THREADS or more in all (estimatedStagingBytes).
   */
  threads?: number;
  /** Told after each object staged or quarantined: objects done of all, and their bytes (as listed) done of all. */
  onProgress?: (done: number, total: number, bytes: { done: number; total: number }) => void;
  /** Per source type, the configured format for objects without a header (line annotators). */
  formatHints?: Partial<Record<string, string | undefined>>;
  /** False stages every record as text for its model, none typed (SourceDefinition.lineTyper): tests compare both paths. */
  typeLines?: boolean;
  /** Told when worker threads start through tsx because their script could not be bundled (StagingPool). */
  logger?: Pick<Logger, 'warn'>;
}): Promise<StagingResult> {
  const { store, sources, objects, workDir, limits } = options;
  const stagingKinds = objects.map((object) => sources.byType(object.sourceType).staging(object.key));
  const threads = stagingThreads(
    objects.filter((_, index) => stagingKinds[index] !== 'parquet'),
    options.threads,
  );
  const pool = new StagingPool({ sources, workers: threads - 1, inThread: true, ...(options.logger ? { logger: options.logger } : {}) });
  const staged: StagedObject[] = new Array(objects.length);
  const rejects: StageReject[][] = objects.map(() => []);
  let bytesDownloaded = 0;
  let next = 0;
  let done = 0;
  let bytesDone = 0;
  const bytesTotal = objects.reduce((sum, object) => sum + object.size, 0);
  const objectDone = (object: DiscoveredObject) => {
    bytesDone += object.size;
    options.onProgress?.(++done, objects.length, { done: bytesDone, total: bytesTotal });
  };
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < objects.length && !failure) {
      const objectIdx = next++;
      const object = objects[objectIdx]!;
      // Local names come from our own counter, never from the (untrusted) object key.
      const rawPath = path.join(workDir, 'raw', `${objectIdx}.bin`);
      const linesPath = path.join(workDir, 'lines', object.sourceType, `${objectIdx}.txt`);
      const staging = stagingKinds[objectIdx]!;
      await mkdir(path.dirname(linesPath), { recursive: true });
      const rejectWhole = (reason: string) => {
        rejects[objectIdx]!.push({ source_type: object.sourceType, raw_object_key: object.key, raw_offset: null, reason, raw_text: null });
        staged[objectIdx] = { objectIdx, object, staging, stagedLines: 0 };
      };
      // Object stores hold keys such as `a/../b` or `a\\b` that no adapter will fetch: one such
      // object is quarantined by name (its listing marked it, under a safe rendering of the key),
      // instead of failing every run of its hour.
      const unsafe = object.unsafeKey ?? unsafeKeyReason(object.key);
      if (unsafe !== undefined) {
        rejectWhole(`object key is unsafe (${unsafe}), object not read`);
        objectDone(object);
        continue;
      }
      // Pinned to the listed ETag, which the run id names: an object rewritten since the listing
      // (an Azure PT1H.json still growing) fails with ObjectChangedError instead of being read
      // as the listed version.
      await store.getToFile(object.key, rawPath, object.etag ? { ifMatch: object.etag } : {});
      bytesDownloaded += object.size;
      try {
        if (staging === 'parquet') {
          if (!(await hasParquetMagic(rawPath))) {
            rejectWhole('object cannot be read: not a Parquet file (no PAR1 magic at both ends; truncated or another format)');
          } else {
            const parquetPath = path.join(workDir, 'parquet', `${objectIdx}.parquet`);
            await mkdir(path.dirname(parquetPath), { recursive: true });
            await rename(rawPath, parquetPath);
            staged[objectIdx] = { objectIdx, object, staging, parquetPath, stagedLines: 0 };
          }
          objectDone(object);
          continue;
        }
        const result: StagedLines = await pool.stage(
          { sourceType: object.sourceType, staging, formatHint: options.formatHints?.[object.sourceType], typeLines: options.typeLines, rawPath, linesPath, limits },
          object.key,
        );
        for (const line of result.rejected) {
          rejects[objectIdx]!.push({ source_type: object.sourceType, raw_object_key: object.key, raw_offset: line.line, reason: line.reason, raw_text: line.text });
        }
        if (result.stagedLines === 0 && result.rejected.length === 0) {
          rejectWhole(
            result.bytesIn === 0
              ? 'object is empty (0 bytes)'
              : staging === 'json-records' && result.bytesOut === 0 && result.lines === 0
                ? 'object holds no records (an empty document or an empty "records" array)'
                : 'object holds no records (only blank lines)',
          );
        } else {
          staged[objectIdx] = { objectIdx, object, staging, linesPath, stagedLines: result.stagedLines };
        }
      } catch (error) {
        if (!(error instanceof ObjectUnreadableError)) throw error;
        rejectWhole(`object cannot be read: ${error.message}`);
      } finally {
        await rm(rawPath, { force: true });
      }
      objectDone(object);
    }
  };
  // On a failure the other lanes finish the object in hand and stop, and all have stopped before
  // it is thrown: a caller that lists again and restages finds no download still running.
  // Enough downloads in hand to keep every staging thread busy.
  const concurrency = options.concurrency ?? Math.max(4, 2 * threads);
  try {
    // The worker threads start while the first objects download.
    void pool.start();
    await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, () => lane().catch((error: unknown) => void (failure ??= { error }))));
  } finally {
    await pool.close();
  }
  if (failure) throw failure.error;
  return { objects: staged, rejects: rejects.flat(), bytesDownloaded };
}
