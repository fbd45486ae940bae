import { runHourlyAnalytics } from '../jobs/hourly-analytics.ts';
import type { DailyJobContext } from './daily-jobs.ts';

/**
 * Work the scheduler does right after it publishes hours, in the same queue slot (so it never
 * overlaps another run): the analytics job (anomalies, capacity_hourly) over the published range.
 * Returns its outcome instead of throwing.
 */
export type HourlyFollowUp = (range: { from: Date; to: Date }) => Promise<{ status: 'ok' | 'failed'; error?: string }>;

export function hourlyFollowUps(context: DailyJobContext): HourlyFollowUp[] {
  return [
    async ({ from, to }) => {
      const result = await runHourlyAnalytics({ ...context, from, to });
      return result.status === 'published' && !result.error ? { status: 'ok' } : { status: 'failed', error: result.error ?? 'analytics failed' };
    },
  ];
}
