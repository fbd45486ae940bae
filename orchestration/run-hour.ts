import { errorCauses } from '../lib/log/logger.ts';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { durationMs, type Config } from '../schemas/config.ts';
import { EMPTY_COUNTS, runHourlyEtl, type HourlyEtlOptions, type HourlyEtlResult } from '../jobs/hourly-etl.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { PartitionLock } from '../lib/publish/partition-lock.ts';
import { ledgerLateAccounting } from './late-accounting.ts';
import { ledgerEntryOf, runLedgerOf } from './run-ledger.ts';
import { sweepStaleWorkDirs } from './sweep-work-dirs.ts';

/** Run folders untouched this long were left by killed runs. */
const STALE_WORK_DIR_MS = 24 * 3_600_000;

export interface RunHourOptions extends HourlyEtlOptions {
  config: Config;
  /** What started the run, recorded in the ledger: `run`, `scheduler`, `rescan`, `catch-up`, `backfill`, `commit`. */
  trigger?: string;
  /** The job run under the lock: the hourly job by default, or the commit of an hour's shards (jobs/hour-commit.ts). */
  job?: (options: HourlyEtlOptions) => Promise<HourlyEtlResult>;
}

/** A run's result; `lockHeld` marks a failure that is only a live runner holding the partition's lock. */
export interface RunHourResult extends HourlyEtlResult {
  lockHeld?: boolean;
}

/**
 * Runs the hourly job for one event hour under the partition's lock and records the attempt in
 * the run ledger. One runner at a time per partition, across processes and machines sharing the
 * store: a second runner waits for the lock (up to `locks.wait`); when it gets it after another
 * runner, and that runner published the same inputs, it records `skipped` instead of publishing
 * the same rows again. A runner that cannot get the lock records a failed run.
 */
export async function runHourAndRecord(options: RunHourOptions): Promise<RunHourResult> {
  const ledger = runLedgerOf(options);
  const startedAt = new Date();
  for (const folder of await sweepStaleWorkDirs(path.resolve(options.baseDir, options.config.work_dir), STALE_WORK_DIR_MS)) {
    options.logger.warn('removed the work folder of a run that did not end', { folder });
  }
  const lockStarted = performance.now();
  const lock = new PartitionLock({
    store: options.store,
    partition: partitionOf(options.hour),
    leaseMs: durationMs(options.config.locks.lease),
    waitMs: durationMs(options.config.locks.wait),
    onWait: (holder) =>
      options.logger.info('waiting for the partition lock', { hour: options.hour.toISOString().slice(0, 13), holder: holder.owner, expires_at: holder.expires_at, wait: options.config.locks.wait }),
  });
  let result: RunHourResult;
  let lockMs = 0;
  try {
    const acquired = await lock.acquire();
    lockMs = performance.now() - lockStarted;
    if (!acquired.acquired) {
      const holder = acquired.holder ? `${acquired.holder.owner} until ${acquired.holder.expires_at}` : 'another runner';
      result = failedResult(options.hour, `partition ${options.hour.toISOString().slice(0, 13)} is locked by ${holder}; gave up after ${Math.round(acquired.waitedMs / 1000)} s`);
      result.lockHeld = true;
    } else {
      if (acquired.tookOver) options.logger.warn('took over a stale partition lock', { hour: options.hour.toISOString().slice(0, 13), previous_owner: acquired.tookOver.owner });
      try {
        result = await (options.job ?? runHourlyEtl)({
          ...options,
          beforeCommit: async () => {
            await lock.assertHeld();
            await options.beforeCommit?.();
          },
          skipWhenPublished: options.skipWhenPublished ?? acquired.contended,
          lateAccounting: options.lateAccounting ?? ledgerLateAccounting(ledger, options.hour),
        });
      } finally {
        const releaseStarted = performance.now();
        await lock.release().catch((error: unknown) => options.logger.warn('partition lock release failed; it expires with its lease', { error: String(error) }));
        lockMs += performance.now() - releaseStarted;
      }
    }
  } catch (error) {
    result = { ...failedResult(options.hour, `partition lock: ${(error as Error).message}`), errorCauses: errorCauses(error) };
  }
  await ledger.append({
    ...ledgerEntryOf(result, startedAt, new Date()),
    ...(options.trigger ? { trigger: options.trigger } : {}),
    lock_ms: Math.round(lockMs),
  });
  return result;
}

function failedResult(hour: Date, error: string): HourlyEtlResult {
  return {
    status: 'failed',
    hour: hour.toISOString().slice(0, 13),
    runId: '',
    attemptId: '',
    inputs: [],
    referenceHash: null,
    rulesHash: null,
    counts: { ...EMPTY_COUNTS },
    countsBySource: {},
    models: [],
    tables: [],
    alerts: [],
    durationsMs: {},
    error,
  };
}
