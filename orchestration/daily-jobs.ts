import type { Config } from '../schemas/config.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { runLedgerOf } from './run-ledger.ts';

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
 * The daily jobs of this installation, in order: the analytics of the previous day's hours
 * (anomalies and capacity_hourly; hours already up to date are skipped, so this only catches up
 * on what no hourly analytics run produced), then the compliance audit and capacity reports of that
 * day (jobs/reports/run-daily-reports.ts), written to `reports/<kind>/<date>/`.
 */
export function dailyJobs(context: DailyJobContext): DailyJob[] {
  return [
    {
      name: 'analytics',
      run: async (day) => {
        const { runHourlyAnalytics } = await import('../jobs/hourly-analytics.ts');
        const result = await runHourlyAnalytics({ ...context, from: day, to: new Date(day.getTime() + 86_400_000) });
        return result.status === 'published' ? { status: 'ok' } : { status: 'failed', error: result.error ?? 'analytics failed' };
      },
    },
    {
      name: 'reports',
      run: async (day) => {
        const { runDailyReports } = await import('../jobs/reports/run-daily-reports.ts');
        const result = await runDailyReports({ ...context, ledger: runLedgerOf(context) }, day);
        const failed = result.reports.filter((report) => report.status !== 'written');
        return failed.length === 0 ? { status: 'ok' } : { status: 'failed', error: failed.map((report) => `${report.kind}: ${report.error}`).join('; ') };
      },
    },
  ];
}
