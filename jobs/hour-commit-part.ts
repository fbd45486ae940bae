import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sqlIdentifier, sqlString, type DuckDbSession } from '../lib/duckdb/duckdb-session.ts';
import { parquetCompressionSql } from '../lib/models/model-definition.ts';
import type { ModelResult } from '../lib/models/model-runner.ts';
import { claimWorkDir } from '../lib/process/work-dir-owner.ts';
import { PUBLISHED_PARQUET_COMPRESSION, writeTableFile } from '../lib/publish/export-tables.ts';
import { PART_OUTPUTS, PARTITIONED_OUTPUTS, partHashRange, partModels, publishedFileRelation, shardRelationSql } from '../lib/scale-out/model-cut.ts';
import type { ShardSpec } from '../lib/scale-out/shard-assignment.ts';
import { markShardDone, partPrefix, readPartDone, shardFilesPresent, uploadShardFiles } from '../lib/scale-out/shard-staging.ts';
import { PUBLISHED_TABLES } from '../schemas/tables/index.ts';
import { downloadedShards, verifiedCommitInputs, type HourCommitOptions } from './hour-commit.ts';
import { openHourSession, recordFailure, startAttempt, transformHour, transformSettings, type HourlyEtlResult } from './hourly-etl.ts';

export interface HourCommitPartOptions extends HourCommitOptions {
  part: ShardSpec;
}

/**
 * A commit part's outcome. `staged`: its files and done marker are in the store; `already-staged`:
 * an earlier attempt read the same shard attempts and its files are all there; `skipped`: the hour
 * is already published from the same inputs.
 */
export interface HourCommitPartResult extends Omit<HourlyEtlResult, 'status'> {
  status: 'staged' | 'already-staged' | 'skipped' | 'failed';
  part: ShardSpec;
  prefix?: string;
}

/**
 * Part j of M of an hour's commit (`netflow commit --hour H --shards N --part j/M`): checks the
 * shards as the commit does (jobs/hour-commit.ts verifiedCommitInputs), reads the records of its
 * range of connections (lib/scale-out/model-cut.ts partHashRange) from every shard, runs the models
 * that relate records of one connection (the counted flags, the flows mart, the violations) and
 * leaves the flows and violations tables' data files, and the relations the final commit's marts
 * and alerts read, under the part's attempt folder, then its done marker. Publishes nothing.
 */
export async function runHourCommitPart(options: HourCommitPartOptions): Promise<HourCommitPartResult> {
  const started = performance.now();
  const attempt = startAttempt(options);
  const { logger, workDir, phase } = attempt;
  const result: HourCommitPartResult = { ...attempt.result, status: 'failed', part: options.part };
  let session: DuckDbSession | undefined;
  try {
    const { index, count } = options.part;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) throw new Error(`--part must be j/M with 0 <= j < M, got ${index}/${count}`);
    await mkdir(workDir, { recursive: true });
    await claimWorkDir(workDir);
    const verified = await verifiedCommitInputs(options, result, logger, phase);
    if (verified === 'published') {
      logger.info('partition already published from the same inputs', { run_id: result.runId });
      result.status = 'skipped';
      return result;
    }
    const { dones, reference } = verified;
    const prefix = partPrefix(result.hour, result.runId, options.part);
    result.prefix = prefix;
    const shardAttempts = dones.map((done) => done.attempt_id);
    const done = await readPartDone(options.store, prefix);
    if (done && done.shard_attempts.join('\n') === shardAttempts.join('\n') && (await shardFilesPresent(options.store, done))) {
      logger.info('commit part already staged from the same shards', { part: `${index}/${count}`, attempt: done.attempt_id, run_id: result.runId });
      result.status = 'already-staged';
      return result;
    }
    const files = await phase('download', () => downloadedShards(options.store, dones, workDir, new Set(PARTITIONED_OUTPUTS)));
    const range = partHashRange(options.part);
    session = await openHourSession(options.config, workDir);
    const transform = await phase('transform', () =>
      transformHour(session!, {
        ...transformSettings(options, workDir, result.runId, reference, logger),
        installInputs: async (db) => {
          for (const relation of PARTITIONED_OUTPUTS) await db.run(`CREATE OR REPLACE VIEW ${sqlIdentifier(relation)} AS ${shardRelationSql(relation, files.get(relation) ?? [], range)}`);
          return PARTITIONED_OUTPUTS;
        },
        selectModels: partModels,
      }),
    );
    result.models = transform.models;
    if (transform.error) throw new Error(transform.error);
    const outputs = await phase('export', () => writePartOutputs(session!, workDir, transform.models));
    session.close();
    session = undefined;
    const uploaded = await phase('upload', () => uploadShardFiles(options.store, prefix, attempt.attemptId, outputs));
    await markShardDone(options.store, prefix, {
      done_version: 1,
      hour: result.hour,
      run_id: result.runId,
      part: index,
      parts: count,
      shards: options.shards,
      shard_attempts: shardAttempts,
      attempt_id: attempt.attemptId,
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

/** The part's relations as Parquet files (the flows mart's own file), and the violations table's data file. */
async function writePartOutputs(session: DuckDbSession, workDir: string, models: readonly ModelResult[]): Promise<{ relation: string; localPath: string; rows: number }[]> {
  const dir = path.join(workDir, 'part');
  await mkdir(dir, { recursive: true });
  const files: { relation: string; localPath: string; rows: number }[] = [];
  for (const relation of PART_OUTPUTS) {
    const model = models.find((result) => result.name === relation && result.file);
    if (model) {
      files.push({ relation, localPath: model.file!, rows: model.rows ?? 0 });
      continue;
    }
    const localPath = path.join(dir, `${relation}.parquet`);
    const [written] = await session.all<{ Count: bigint }>(
      `COPY (SELECT * FROM ${sqlIdentifier(relation)}) TO ${sqlString(localPath)} (FORMAT parquet, ${parquetCompressionSql(PUBLISHED_PARQUET_COMPRESSION)})`,
    );
    files.push({ relation, localPath, rows: Number(written!.Count) });
  }
  await mkdir(path.join(dir, 'published'), { recursive: true });
  const violations = await writeTableFile(
    session,
    PUBLISHED_TABLES.find((table) => table.name === 'violations')!,
    path.join(dir, 'published'),
  );
  files.push({ relation: publishedFileRelation('violations'), localPath: violations.file, rows: violations.rows });
  return files;
}
