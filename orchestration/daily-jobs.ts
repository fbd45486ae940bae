import type { Config } from '../schemas/config.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';

/**
 * A job the scheduler runs once a day for the previous UTC day (the compliance, capacity and
 * segmentation reports). It returns its outcome instead of throwing; the scheduler logs it and
 * goes on.
 */
export interface DailyJob {
  name: string;
  run(day: Date): Promise<{ status: 'ok' | 'failed'; error?: string }>;
}

export interface DailyJobContext {
  config: Config;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
}

/**
 * The daily jobs of this installation.
 * TODO(reports): the report jobs (jobs/reports/, `netflow report`) are being written in another
 * issue; register them here as DailyJob adapters once they exist. Until then the scheduler runs
 * no daily job and says so in its start-up log line (`daily_jobs: []`).
 */
export function dailyJobs(_context: DailyJobContext): DailyJob[] {
  return [];
}
