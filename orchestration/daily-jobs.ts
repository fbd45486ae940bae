import type { Config } from '../schemas/config.ts';
import { runDailyReports } from '../jobs/reports/run-daily-reports.ts';
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
 * The daily jobs of this installation: the compliance audit and capacity reports of the previous
 * day (jobs/reports/run-daily-reports.ts), written to `reports/<kind>/<date>/`.
 */
export function dailyJobs(context: DailyJobContext): DailyJob[] {
  return [
    {
      name: 'reports',
      run: async (day) => {
        const result = await runDailyReports(context, day);
        const failed = result.reports.filter((report) => report.status !== 'written');
        return failed.length === 0 ? { status: 'ok' } : { status: 'failed', error: failed.map((report) => `${report.kind}: ${report.error}`).join('; ') };
      },
    },
  ];
}
