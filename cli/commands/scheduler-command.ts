import cron from 'node-cron';
import { dailyJobs } from '../../orchestration/daily-jobs.ts';
import { hourlyFollowUps } from '../../orchestration/hourly-follow-ups.ts';
import { Scheduler, type CronPort } from '../../orchestration/scheduler.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { CliContext } from '../cli-context.ts';
import type { CommandDefinition } from '../command-definition.ts';

const SCHEDULER_HELP = `netflow scheduler [--config FILE]

Runs until stopped, in UTC:
  every hour at scheduler.hourly_minute (default :20)   the hourly job for the hour that closed
                                                        \`lateness\` ago (14:20 runs 13:00 with 15m),
                                                        then the analytics job for that hour
  every hour at scheduler.rescan_minute (default :45)   reruns hours of scheduler.rescan_lookback
                                                        (default 48h) whose raw objects changed
                                                        since they were published (late data), or
                                                        that are missing, incomplete or failed
  every day at scheduler.daily_at (default 01:30)       the daily report jobs for the previous day
On start it first runs the hours of scheduler.catch_up (default 24h) that fell due while it was
down and are not published. One job at a time; each hour runs under its partition lock, so
several schedulers (or a backfill) sharing a store never process one hour twice at once.
SIGTERM or SIGINT: no new work; the running job finishes (or fails) cleanly, then exit 0.`;

/** node-cron behind the scheduler's port: UTC, never overlapping itself, its messages in our log. */
export function nodeCronPort(logger: Logger): CronPort {
  const cronLogger = {
    info: (message: string) => logger.debug('cron', { message }),
    warn: (message: string) => logger.warn('cron', { message }),
    error: (message: string | Error) => logger.error('cron', { message: String(message) }),
    debug: (message: string | Error) => logger.debug('cron', { message: String(message) }),
  };
  return {
    schedule: (expression, task, name) => cron.schedule(expression, task, { timezone: 'UTC', name, noOverlap: true, logger: cronLogger }),
  };
}

export async function schedulerCommand(context: CliContext): Promise<number> {
  const scheduler = new Scheduler({
    config: context.config,
    baseDir: context.baseDir,
    store: context.store,
    logger: context.logger,
    cron: nodeCronPort(context.logger),
    dailyJobs: dailyJobs(context),
    followUps: hourlyFollowUps(context),
  });
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (signal: string) => {
    context.logger.info('scheduler received a signal', { signal });
    void scheduler.stop().then(stopped);
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    await scheduler.start();
    await done;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  return 0;
}

export const schedulerCommandDefinition: CommandDefinition = {
  name: 'scheduler',
  help: SCHEDULER_HELP,
  maxPositionals: 0,
  options: {},
  run: (context) => schedulerCommand(context),
};
