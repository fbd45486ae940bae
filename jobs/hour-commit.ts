import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sqlIdentifier, sqlString, type DuckDbSession } from '../lib/duckdb/duckdb-session.ts';
import { claimWorkDir } from '../lib/process/work-dir-owner.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { loadReferenceData, referenceFilesOf } from '../lib/reference/reference-data.ts';
import { commitModels, SHARD_OUTPUTS } from '../lib/scale-out/model-cut.ts';
import { assignShards } from '../lib/scale-out/shard-assignment.ts';
import { downloadShardFiles, listShardMarkers, readListing, readShardDone, removeHourStaging, shardPrefix, type ShardDone } from '../lib/scale-out/shard-staging.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { assertSameRun } from './hour-shard.ts';
import {
  adoptListing,
  discoverHour,
  openHourSession,
  publishedRunIds,
  publishTransformedHour,
  recordFailure,
  startAttempt,
  transformHour,
  transformSettings,
  type HourlyEtlOptions,
  type HourlyEtlResult,
} from './hourly-etl.ts';

export interface HourCommitOptions extends HourlyEtlOptions {
  shards: number;
}

/** A commit refused because of its shards: nothing was published. */
export class ShardsNotReadyError extends Error {
  constructor(
    hour: string,
    readonly problems: readonly string[],
  ) {
    super(`refusing to publish hour ${hour}: ${problems.join('; ')}`);
    this.name = 'ShardsNotReadyError';
  }
}

/**
 * Publishes an hour from its N shards (jobs/hour-shard.ts): checks that every shard of the
 * recorded listing finished (a done marker of the same run id and shard count, holding exactly
 * its assigned objects, its files intact), refusing with the shards named otherwise; then runs
 * the models past the shard cut over the union of the shards' relations, and publishes like a
 * single run (jobs/hourly-etl.ts publishTransformedHour): the same checks, run id, alerts,
 * one Delta commit per table. The hour's shard folder is deleted once it is published.
 */
export async function commitHourShards(options: HourCommitOptions): Promise<HourlyEtlResult> {
  const started = performance.now();
  const { result, logger, workDir, phase, failedPhase } = startAttempt(options);
  let session: DuckDbSession | undefined;
  try {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new Error(`--shards must be a positive integer, got ${options.shards}`);
    await mkdir(workDir, { recursive: true });
    await claimWorkDir(workDir);
    const reference = await phase('reference', () => loadReferenceData(referenceFilesOf(options.config, options.baseDir)));
    result.referenceHash = reference.referenceHash;
    result.rulesHash = reference.rulesHash;
    result.rulesVersion = reference.rules.version ?? null;
    const listing = await phase('discover', () => readListing(options.store, result.hour));
    if (!listing) {
      // No shard ran since the last commit cleaned up: published from the current listing is done, anything else is refused.
      adoptListing(options, result, reference, await discoverHour(options, result, logger));
      if (await publishedFrom(options.store, options.hour, result.runId)) return skipped(result, logger);
      throw new ShardsNotReadyError(result.hour, [
        `no shard has run (no listing recorded under _shards/${result.hour}/): run netflow run --hour ${result.hour} --shard i/${options.shards} for every i first`,
      ]);
    }
    const { discovered } = adoptListing(options, result, reference, listing);
    assertSameRun(result, listing);
    if (await publishedFrom(options.store, options.hour, result.runId)) {
      await removeHourStaging(options.store, result.hour);
      return skipped(result, logger);
    }
    const dones = await phase('verify', () => verifiedShards(options.store, result.hour, result.runId, assignShards(discovered, options.shards)));
    const files = await phase('download', async () => {
      const byRelation = new Map<string, string[]>();
      for (const done of dones) {
        for (const [relation, file] of await downloadShardFiles(options.store, done, path.join(workDir, 'shards'))) byRelation.set(relation, [...(byRelation.get(relation) ?? []), file]);
      }
      return byRelation;
    });
    logger.info('shards verified', { shards: options.shards, run_id: result.runId });

    session = await openHourSession(options.config, workDir);
    const transform = await phase('transform', () =>
      transformHour(session!, {
        ...transformSettings(options, workDir, result.runId, reference, logger),
        installInputs: async (db) => {
          for (const relation of SHARD_OUTPUTS) {
            const list = files.get(relation) ?? [];
            await db.run(`CREATE OR REPLACE VIEW ${sqlIdentifier(relation)} AS SELECT * FROM read_parquet([${list.map(sqlString).join(', ')}])`);
          }
          return SHARD_OUTPUTS;
        },
        selectModels: commitModels,
      }),
    );
    result.models = transform.models;
    if (transform.error) throw new Error(transform.error);
    const wholeObjectRejects = await session.all<{ raw_object_key: string }>(`SELECT DISTINCT raw_object_key FROM quarantine WHERE raw_offset IS NULL`);
    await publishTransformedHour({
      session,
      closeSession: () => {
        session?.close();
        session = undefined;
      },
      options,
      result,
      workDir,
      logger,
      phase,
      discovered,
      wholeObjectRejects: wholeObjectRejects.map((row) => row.raw_object_key),
    });
    const removed = await removeHourStaging(options.store, result.hour);
    logger.info('shard staging removed', { objects: removed });
  } catch (error) {
    recordFailure(result, logger, error, failedPhase());
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
    result.durationsMs.total = Math.round(performance.now() - started);
  }
  return result;
}

async function publishedFrom(store: ObjectStore, hour: Date, runId: string): Promise<boolean> {
  return (await publishedRunIds(store, partitionOf(hour))).every((id) => id === runId);
}

function skipped(result: HourlyEtlResult, logger: { info: (message: string, fields: Record<string, unknown>) => void }): HourlyEtlResult {
  logger.info('partition already published from the same inputs', { run_id: result.runId });
  result.status = 'skipped';
  return result;
}

/**
 * Every shard's done marker, checked against the assignment of the recorded listing; throws
 * ShardsNotReadyError naming each shard that is missing, ran against another listing or another
 * shard count, or holds other objects than assigned.
 */
async function verifiedShards(store: ObjectStore, hour: string, runId: string, assignment: readonly string[][]): Promise<ShardDone[]> {
  const count = assignment.length;
  const problems: string[] = [];
  const dones: ShardDone[] = [];
  let others: Awaited<ReturnType<typeof listShardMarkers>> | undefined;
  for (let index = 0; index < count; index++) {
    const done = await readShardDone(store, shardPrefix(hour, runId, { index, count }));
    if (!done) {
      others ??= await listShardMarkers(store, hour);
      const elsewhere = others.filter((marker) => marker.shard === index && (marker.runId !== runId || marker.shards !== count));
      const otherListing = elsewhere.find((marker) => marker.runId !== runId);
      const otherCount = elsewhere.find((marker) => marker.runId === runId);
      if (otherListing) problems.push(`shard ${index}/${count} ran against another listing (run id ${otherListing.runId}; the recorded listing is run id ${runId})`);
      else if (otherCount) problems.push(`shard ${index}/${count} is missing (a shard ${index} of ${otherCount.shards} shards finished instead)`);
      else problems.push(`shard ${index}/${count} is missing (no done marker: it has not finished, or it failed)`);
      continue;
    }
    const expected = assignment[index]!;
    if (done.run_id !== runId || done.shards !== count || done.objects.join('\n') !== expected.join('\n')) {
      problems.push(`shard ${index}/${count} holds other objects than the recorded listing assigns it (${done.objects.length} objects, ${expected.length} assigned)`);
      continue;
    }
    dones.push(done);
  }
  if (problems.length > 0) throw new ShardsNotReadyError(hour, problems);
  return dones;
}
