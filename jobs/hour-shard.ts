import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDbSession, sqlIdentifier, sqlString } from '../lib/duckdb/duckdb-session.ts';
import type { Logger } from '../lib/log/logger.ts';
import { parquetCompressionSql } from '../lib/models/model-definition.ts';
import type { ModelResult } from '../lib/models/model-runner.ts';
import { claimWorkDir } from '../lib/process/work-dir-owner.ts';
import { PUBLISHED_PARQUET_COMPRESSION } from '../lib/publish/export-tables.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { loadReferenceData, referenceFilesOf, type ReferenceData } from '../lib/reference/reference-data.ts';
import { connectionHashedSql, PARTITIONED_OUTPUTS, SHARD_OUTPUTS, shardModels } from '../lib/scale-out/model-cut.ts';
import { assignShards, listingDigest, type ShardSpec } from '../lib/scale-out/shard-assignment.ts';
import { markShardDone, readListing, readShardDone, recordListing, shardFilesPresent, shardPrefix, uploadShardFiles, type RecordedListing } from '../lib/scale-out/shard-staging.ts';
import {
  adoptListing,
  countRecords,
  discoverHour,
  openHourSession,
  publishedRunIds,
  recordFailure,
  stagedInputs,
  stageRunObjects,
  startAttempt,
  transformHour,
  transformSettings,
  type HourlyEtlOptions,
  type HourlyEtlResult,
} from './hourly-etl.ts';

export interface HourShardOptions extends HourlyEtlOptions {
  shard: ShardSpec;
}

/**
 * A shard's outcome. `staged`: its outputs and done marker are in the store; `already-staged`:
 * an earlier attempt of the same shard of the same listing finished (nothing redone);
 * `skipped`: the hour is already published from the same inputs.
 */
export interface HourShardResult extends Omit<HourlyEtlResult, 'status'> {
  status: 'staged' | 'already-staged' | 'skipped' | 'failed';
  shard: ShardSpec;
  /** The raw objects of this shard (its part of the assignment) and their listed bytes. */
  objects: string[];
  bytes: number;
  /** The folder of its outputs in the store (lib/scale-out/shard-staging.ts). */
  prefix?: string;
  /** Whether this worker recorded the hour's listing (the first one did), or used the one recorded. */
  recordedListing?: boolean;
}

/**
 * Shard i of N of an hour: the objects the hour's recorded listing assigns it (lib/scale-out/
 * shard-assignment.ts), staged and run through the models up to the shard cut (lib/scale-out/
 * model-cut.ts); the cut's relations go to the store as Parquet files under the attempt's
 * folder, then the done marker. Nothing is published: `netflow commit` does that from all the
 * shards. Returns a result in every case; a failed shard leaves no done marker.
 */
export async function runHourShard(options: HourShardOptions): Promise<HourShardResult> {
  const started = performance.now();
  const attempt = startAttempt(options);
  const { logger, workDir, phase } = attempt;
  const result: HourShardResult = { ...attempt.result, status: 'failed', shard: options.shard, objects: [], bytes: 0 };
  const hourKey = result.hour;
  let session: DuckDbSession | undefined;
  try {
    await mkdir(workDir, { recursive: true });
    await claimWorkDir(workDir);
    const reference = await phase('reference', () => loadReferenceData(referenceFilesOf(options.config, options.baseDir)));
    result.referenceHash = reference.referenceHash;
    result.rulesHash = reference.rulesHash;
    result.rulesVersion = reference.rules.version ?? null;

    const listing = await phase('discover', () => listingInForce(options, result, reference, logger));
    const { discovered, routing } = adoptListing(options, result, reference, listing);
    assertSameRun(result, listing);
    if ((await publishedRunIds(options.store, partitionOf(options.hour))).every((id) => id === result.runId)) {
      logger.info('partition already published from the same inputs', { run_id: result.runId });
      result.status = 'skipped';
      return result;
    }
    const keys = new Set(assignShards(discovered, options.shard.count)[options.shard.index]);
    const objects = discovered.filter((object) => keys.has(object.key));
    result.objects = objects.map((object) => object.key);
    result.bytes = objects.reduce((sum, object) => sum + object.size, 0);
    const prefix = shardPrefix(hourKey, result.runId, options.shard);
    result.prefix = prefix;
    const done = await readShardDone(options.store, prefix);
    // An earlier attempt finished: nothing to redo, unless a file it names has gone since.
    if (done && done.objects.join('\n') === result.objects.join('\n') && (await shardFilesPresent(options.store, done))) {
      logger.info('shard already staged from the same listing', { shard: `${options.shard.index}/${options.shard.count}`, attempt: done.attempt_id, run_id: result.runId });
      result.status = 'already-staged';
      return result;
    }
    logger.info('shard objects assigned', {
      shard: `${options.shard.index}/${options.shard.count}`,
      objects: objects.length,
      bytes: result.bytes,
      of_objects: discovered.length,
      run_id: result.runId,
    });

    const staging = await phase('stage', () => stageRunObjects(options, objects, workDir, logger));
    session = await openHourSession(options.config, workDir);
    const transform = await phase('transform', () =>
      transformHour(session!, {
        ...transformSettings(options, workDir, result.runId, reference, logger),
        installInputs: stagedInputs({ workDir, staged: staging.objects, rejects: staging.rejects, routing, config: options.config }),
        selectModels: shardModels,
      }),
    );
    result.models = transform.models;
    if (transform.error) throw new Error(transform.error);
    const counts = await countRecords(
      session,
      objects,
      staging.rejects.filter((reject) => reject.raw_offset === null).map((reject) => reject.raw_object_key),
    );
    result.counts = counts.total;
    result.countsBySource = counts.bySource;
    const files = await phase('export', () => writeShardOutputs(session!, workDir, transform.models));
    session.close();
    session = undefined;
    const uploaded = await phase('upload', () => uploadShardFiles(options.store, prefix, attempt.attemptId, files));
    await markShardDone(options.store, prefix, {
      done_version: 1,
      hour: hourKey,
      run_id: result.runId,
      shard: options.shard.index,
      shards: options.shard.count,
      attempt_id: attempt.attemptId,
      objects: result.objects,
      files: uploaded,
      finished_at: new Date().toISOString(),
    });
    result.status = 'staged';
  } catch (error) {
    recordFailure(result, logger, error, attempt.failedPhase());
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
    result.durationsMs.total = Math.round(performance.now() - started);
  }
  return result;
}

/** The hour's recorded listing, or this worker's own, recorded for the others when it is the first. */
async function listingInForce(options: HourShardOptions, result: HourShardResult, reference: ReferenceData, logger: Logger): Promise<RecordedListing> {
  const recorded = await readListing(options.store, result.hour);
  if (recorded) {
    logger.info('using the recorded listing of the hour', { run_id: recorded.run_id, objects: recorded.window.length, late_objects: recorded.late.length, recorded_at: recorded.recorded_at });
    return recorded;
  }
  const found = await discoverHour(options, result, logger);
  adoptListing(options, result, reference, found);
  const own: RecordedListing = {
    listing_version: 1,
    hour: result.hour,
    run_id: result.runId,
    listing_digest: listingDigest([...found.window, ...found.late]),
    recorded_at: new Date().toISOString(),
    window: found.window,
    late: found.late,
  };
  const inForce = await recordListing(options.store, own);
  if (!inForce.recorded && inForce.listing.run_id !== own.run_id) {
    logger.warn('another worker recorded a different listing of the hour first; using it', { recorded_run_id: inForce.listing.run_id, own_run_id: own.run_id });
  }
  result.recordedListing = inForce.recorded;
  return inForce.listing;
}

/** A worker whose reference data, rules or pipeline differ from the one that recorded the listing would compute other rows: it stops. */
export function assertSameRun(result: Pick<HourlyEtlResult, 'runId' | 'hour'>, listing: RecordedListing): void {
  if (result.runId !== listing.run_id) {
    throw new Error(
      `the recorded listing of hour ${result.hour} gives run id ${listing.run_id}, this worker computes ${result.runId} from it: its reference data, rules or netflow version differ from the worker that recorded it`,
    );
  }
}

/**
 * Each relation of the shard cut as a Parquet file (zstd, as the lake's files): the model's own file
 * where it wrote one; the records a commit's parts split by connection, with their connection hash.
 */
async function writeShardOutputs(session: DuckDbSession, workDir: string, models: readonly ModelResult[]): Promise<{ relation: string; localPath: string; rows: number }[]> {
  const dir = path.join(workDir, 'shard');
  await mkdir(dir, { recursive: true });
  const files: { relation: string; localPath: string; rows: number }[] = [];
  for (const relation of SHARD_OUTPUTS) {
    const model = models.find((result) => result.name === relation && result.file);
    const partitioned = (PARTITIONED_OUTPUTS as readonly string[]).includes(relation);
    if (model && !partitioned) {
      files.push({ relation, localPath: model.file!, rows: model.rows ?? 0 });
      continue;
    }
    const localPath = path.join(dir, `${relation}.parquet`);
    const [written] = await session.all<{ Count: bigint }>(
      `COPY (${partitioned ? connectionHashedSql(sqlIdentifier(relation)) : `SELECT * FROM ${sqlIdentifier(relation)}`}) TO ${sqlString(localPath)} (FORMAT parquet, ${parquetCompressionSql(PUBLISHED_PARQUET_COMPRESSION)})`,
    );
    files.push({ relation, localPath, rows: Number(written!.Count) });
  }
  return files;
}
