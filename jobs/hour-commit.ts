import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sqlIdentifier, type DuckDbSession } from '../lib/duckdb/duckdb-session.ts';
import { ShardsNotReadyError } from '../lib/scale-out/shards-not-ready.ts';
import { claimWorkDir } from '../lib/process/work-dir-owner.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { loadReferenceData, referenceFilesOf, type ReferenceData } from '../lib/reference/reference-data.ts';
import { commitModels, finalModels, PART_OUTPUTS, PART_PUBLISHED_TABLES, PARTITIONED_OUTPUTS, publishedFileRelation, SHARD_OUTPUTS, shardRelationSql } from '../lib/scale-out/model-cut.ts';
import { assignShards } from '../lib/scale-out/shard-assignment.ts';
import {
  downloadPartFiles,
  downloadShardFiles,
  listPartMarkers,
  listShardMarkers,
  partPrefix,
  readListing,
  readPartDone,
  readShardDone,
  removeHourStaging,
  shardPrefix,
  type PartDone,
  type ShardDone,
} from '../lib/scale-out/shard-staging.ts';
import type { DiscoveredObject } from '../lib/staging/stage-objects.ts';
import type { Logger } from '../lib/log/logger.ts';
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
  type PhaseTimer,
} from './hourly-etl.ts';

export interface HourCommitOptions extends HourlyEtlOptions {
  shards: number;
  /** The commit parts (netflow commit --part j/M) to publish from; 1 (the default): the commit does their work itself. */
  parts?: number;
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
    const parts = options.parts ?? 1;
    if (!Number.isInteger(parts) || parts < 1) throw new Error(`--parts must be a positive integer, got ${parts}`);
    await mkdir(workDir, { recursive: true });
    await claimWorkDir(workDir);
    const verified = await verifiedCommitInputs(options, result, logger, phase);
    if (verified === 'published') {
      await removeHourStaging(options.store, result.hour);
      return skipped(result, logger);
    }
    const { discovered, dones, reference } = verified;
    const inputs = await phase('download', () => (parts > 1 ? partInputs(options.store, result.hour, result.runId, dones, parts, workDir) : shardInputs(options.store, dones, workDir)));
    logger.info(parts > 1 ? 'shards and parts verified' : 'shards verified', { shards: options.shards, ...(parts > 1 ? { parts } : {}), run_id: result.runId });

    session = await openHourSession(options.config, workDir);
    const transform = await phase('transform', () =>
      transformHour(session!, {
        ...transformSettings(options, workDir, result.runId, reference, logger),
        installInputs: async (db) => {
          for (const [relation, select] of inputs.views) await db.run(`CREATE OR REPLACE VIEW ${sqlIdentifier(relation)} AS ${select}`);
          return [...inputs.views.keys()];
        },
        selectModels: parts > 1 ? finalModels : commitModels,
      }),
    );
    result.models = transform.models;
    if (transform.error) throw new Error(transform.error);
    const wholeObjectRejects = await session.all<{ raw_object_key: string }>(`SELECT DISTINCT raw_object_key FROM quarantine WHERE raw_offset IS NULL`);
    await publishTransformedHour({
      session,
      options,
      result,
      workDir,
      logger,
      phase,
      discovered,
      wholeObjectRejects: wholeObjectRejects.map((row) => row.raw_object_key),
      preparedFiles: inputs.preparedFiles,
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

/** What a commit reads: a view per relation handed over, and the published tables' files written already (by the parts). */
interface CommitInputs {
  views: Map<string, string>;
  preparedFiles: Map<string, { file: string; rows: number }[]>;
}

/** The shards' relations, for a commit that runs every model past the shard cut itself. */
async function shardInputs(store: ObjectStore, dones: readonly ShardDone[], workDir: string): Promise<CommitInputs> {
  const byRelation = await downloadedShards(store, dones, workDir);
  return { views: new Map(SHARD_OUTPUTS.map((relation) => [relation, shardRelationSql(relation, byRelation.get(relation) ?? [])])), preparedFiles: new Map() };
}

export async function downloadedShards(store: ObjectStore, dones: readonly ShardDone[], workDir: string, relations?: ReadonlySet<string>): Promise<Map<string, string[]>> {
  const byRelation = new Map<string, string[]>();
  for (const done of dones) {
    for (const [relation, file] of await downloadShardFiles(store, done, path.join(workDir, 'shards'), relations)) byRelation.set(relation, [...(byRelation.get(relation) ?? []), file]);
  }
  return byRelation;
}

/**
 * The final commit's inputs: the shards' relations no part splits (the counts, late records,
 * quarantine: small), and every part's outputs (jobs/hour-commit-part.ts), each part verified:
 * present, of this listing and shard count, read from the shards' current attempts, its files
 * intact. The flows and violations tables are published from the parts' files as they are.
 */
async function partInputs(store: ObjectStore, hour: string, runId: string, dones: readonly ShardDone[], parts: number, workDir: string): Promise<CommitInputs> {
  const unsplit = new Set<string>(SHARD_OUTPUTS.filter((relation) => !(PARTITIONED_OUTPUTS as readonly string[]).includes(relation)));
  const byRelation = await downloadedShards(store, dones, workDir, unsplit);
  const partDones = await verifiedParts(store, hour, runId, dones, parts);
  const views = new Map([...unsplit].map((relation) => [relation, shardRelationSql(relation, byRelation.get(relation) ?? [])]));
  const byPart = new Map<string, { file: string; rows: number }[]>();
  for (const done of partDones) {
    const local = await downloadPartFiles(store, done, path.join(workDir, 'parts'));
    for (const file of done.files) byPart.set(file.relation, [...(byPart.get(file.relation) ?? []), { file: local.get(file.relation)!, rows: file.rows }]);
  }
  for (const relation of PART_OUTPUTS)
    views.set(
      relation,
      shardRelationSql(
        relation,
        (byPart.get(relation) ?? []).map((file) => file.file),
      ),
    );
  const preparedFiles = new Map(PART_PUBLISHED_TABLES.map((table) => [table, byPart.get(publishedFileRelation(table)) ?? []]));
  return { views, preparedFiles };
}

/** Every part's done marker; throws ShardsNotReadyError naming each part missing, of another listing, or that read other shard attempts. */
async function verifiedParts(store: ObjectStore, hour: string, runId: string, shards: readonly ShardDone[], count: number): Promise<PartDone[]> {
  const problems: string[] = [];
  const dones: PartDone[] = [];
  const attempts = shards.map((shard) => shard.attempt_id).join('\n');
  let others: Awaited<ReturnType<typeof listPartMarkers>> | undefined;
  for (let index = 0; index < count; index++) {
    const done = await readPartDone(store, partPrefix(hour, runId, { index, count }));
    if (!done) {
      others ??= await listPartMarkers(store, hour);
      const otherListing = others.find((marker) => marker.part === index && marker.parts === count && marker.runId !== runId);
      if (otherListing) problems.push(`part ${index}/${count} ran against another listing (run id ${otherListing.runId}; the recorded listing is run id ${runId})`);
      else problems.push(`part ${index}/${count} is missing (no done marker: it has not finished, or it failed)`);
      continue;
    }
    if (done.run_id !== runId || done.parts !== count || done.shards !== shards.length || done.shard_attempts.join('\n') !== attempts) {
      problems.push(`part ${index}/${count} read other shard outputs than the shards' current ones (a shard was run again since): run the part again`);
      continue;
    }
    dones.push(done);
  }
  if (problems.length > 0) throw new ShardsNotReadyError(hour, problems);
  return dones;
}

/**
 * What a commit and each commit part check first: the hour's recorded listing is the run's, and
 * every shard of it finished (verifiedShards). 'published': the hour is published from it already.
 */
export async function verifiedCommitInputs(
  options: HourCommitOptions,
  result: Omit<HourlyEtlResult, 'status'>,
  logger: Logger,
  phase: PhaseTimer,
): Promise<'published' | { discovered: DiscoveredObject[]; dones: ShardDone[]; reference: ReferenceData }> {
  const reference = await phase('reference', () => loadReferenceData(referenceFilesOf(options.config, options.baseDir)));
  result.referenceHash = reference.referenceHash;
  result.rulesHash = reference.rulesHash;
  result.rulesVersion = reference.rules.version ?? null;
  const listing = await phase('discover', () => readListing(options.store, result.hour));
  if (!listing) {
    // No shard ran since the last commit cleaned up: published from the current listing is done, anything else is refused.
    adoptListing(options, result, reference, await discoverHour(options, result, logger));
    if (await publishedFrom(options.store, options.hour, result.runId)) return 'published';
    throw new ShardsNotReadyError(result.hour, [
      `no shard has run (no listing recorded under _shards/${result.hour}/): run netflow run --hour ${result.hour} --shard i/${options.shards} for every i first`,
    ]);
  }
  const { discovered } = adoptListing(options, result, reference, listing);
  assertSameRun(result, listing);
  if (await publishedFrom(options.store, options.hour, result.runId)) return 'published';
  const dones = await phase('verify', () => verifiedShards(options.store, result.hour, result.runId, assignShards(discovered, options.shards)));
  return { discovered, dones, reference };
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
