import type { Config } from '../schemas/config.ts';
import type { HourlyEtlResult } from '../jobs/hourly-etl.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { hourKey, hoursBetween } from './partition-status.ts';
import { runHourAndRecord, type RunHourResult } from './run-hour.ts';

export interface BackfillOptions {
  config: Config;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  from: Date;
  to: Date;
  /** Hours run at once (each has its own DuckDB session: memory is parallel × duckdb.memory_limit). */
  parallel: number;
  /** Rerun hours that are already published from the same inputs, reference data and rules. */
  force: boolean;
  /** Stops taking new hours when aborted; hours already running finish. */
  signal?: AbortSignal;
  onHourDone?: (done: number, total: number, result: HourlyEtlResult) => void;
  /** Injected in tests; default: runHourAndRecord. */
  runHour?: typeof runHourAndRecord;
}

export interface BackfillResult {
  total: number;
  published: string[];
  skipped: string[];
  failed: { hour: string; error: string; lockHeld?: boolean }[];
  /** Hours never started because the backfill was stopped. */
  notStarted: string[];
}

/**
 * Reruns a range of event hours, `parallel` at a time. Resumable: an hour whose partition already
 * holds the run id the job computes now (same objects with the same ETags and sizes, same
 * reference data, rules and pipeline version) is skipped without running the models, unless
 * `force`. Failures do not stop the other hours; they are returned, each with its error.
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const hours = hoursBetween(options.from, options.to);
  const result: BackfillResult = { total: hours.length, published: [], skipped: [], failed: [], notStarted: [] };
  const run = options.runHour ?? runHourAndRecord;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < hours.length) {
      if (options.signal?.aborted) break;
      const hour = hours[next++]!;
      let outcome: RunHourResult;
      try {
        outcome = await run({
          config: options.config,
          baseDir: options.baseDir,
          store: options.store,
          logger: options.logger,
          hour,
          trigger: 'backfill',
          skipWhenPublished: !options.force,
        });
      } catch (error) {
        // runHourAndRecord returns failures as results; this is a bug or the ledger failing.
        result.failed.push({ hour: hourKey(hour), error: (error as Error).message });
        options.logger.error('backfill hour failed', { hour: hourKey(hour), error: (error as Error).message });
        done++;
        continue;
      }
      if (outcome.status === 'published') result.published.push(outcome.hour);
      else if (outcome.status === 'skipped') result.skipped.push(outcome.hour);
      else result.failed.push({ hour: outcome.hour, error: outcome.error ?? 'failed', ...(outcome.lockHeld ? { lockHeld: true } : {}) });
      done++;
      options.onHourDone?.(done, hours.length, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, hours.length)) }, worker));
  result.notStarted = hours.slice(next).map(hourKey);
  for (const list of [result.published, result.skipped]) list.sort();
  result.failed.sort((a, b) => (a.hour < b.hour ? -1 : 1));
  return result;
}
