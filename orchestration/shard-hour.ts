import path from 'node:path';
import { runHourCommitPart, type HourCommitPartOptions, type HourCommitPartResult } from '../jobs/hour-commit-part.ts';
import { commitHourShards } from '../jobs/hour-commit.ts';
import { runHourShard, type HourShardOptions, type HourShardResult } from '../jobs/hour-shard.ts';
import { ledgerLateAccounting } from './late-accounting.ts';
import { runHourAndRecord, type RunHourOptions, type RunHourResult } from './run-hour.ts';
import { runLedgerOf } from './run-ledger.ts';
import { sweepStaleWorkDirs } from './sweep-work-dirs.ts';

/** Run folders untouched this long were left by killed workers. */
const STALE_WORK_DIR_MS = 24 * 3_600_000;

/**
 * One shard of an hour on this worker. No partition lock: a shard writes only under its own
 * attempt's keys and publishes nothing. The first worker's listing of late objects uses this
 * worker's ledger, as a single run would.
 */
export async function runShardOfHour(options: HourShardOptions): Promise<HourShardResult> {
  for (const folder of await sweepStaleWorkDirs(path.resolve(options.baseDir, options.config.work_dir), STALE_WORK_DIR_MS)) {
    options.logger.warn('removed the work folder of a run that did not end', { folder });
  }
  return runHourShard({ ...options, lateAccounting: options.lateAccounting ?? ledgerLateAccounting(runLedgerOf(options), options.hour) });
}

/**
 * The commit of an hour's shards, under the partition's lock and recorded in the run ledger
 * like a single run (orchestration/run-hour.ts): same run id, inputs, counts and outputs.
 */
export function commitShardsOfHour(options: RunHourOptions & { shards: number; parts?: number }): Promise<RunHourResult> {
  return runHourAndRecord({
    ...options,
    trigger: options.trigger ?? 'commit',
    skipWhenPublished: true,
    job: (job) => commitHourShards({ ...job, shards: options.shards, ...(options.parts ? { parts: options.parts } : {}) }),
  });
}

/** One part of an hour's commit on this worker. No lock and no ledger entry, as a shard: it publishes nothing. */
export async function commitPartOfHour(options: HourCommitPartOptions): Promise<HourCommitPartResult> {
  for (const folder of await sweepStaleWorkDirs(path.resolve(options.baseDir, options.config.work_dir), STALE_WORK_DIR_MS)) {
    options.logger.warn('removed the work folder of a run that did not end', { folder });
  }
  return runHourCommitPart(options);
}
