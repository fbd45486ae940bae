import path from 'node:path';
import type { Config } from '../schemas/config.ts';
import { runHourlyEtl, type HourlyEtlOptions, type HourlyEtlResult } from '../jobs/hourly-etl.ts';
import { ledgerEntryOf, RunLedger } from './run-ledger.ts';

/** Runs the hourly job for one event hour and records the attempt in the run ledger. */
export async function runHourAndRecord(options: HourlyEtlOptions & { config: Config }): Promise<HourlyEtlResult> {
  const ledger = new RunLedger(path.resolve(options.baseDir, options.config.ledger.path));
  const startedAt = new Date();
  const result = await runHourlyEtl(options);
  await ledger.append(ledgerEntryOf(result, startedAt, new Date()));
  return result;
}
