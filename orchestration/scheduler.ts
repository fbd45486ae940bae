import { durationMs, type Config } from '../schemas/config.ts';
import type { HourlyEtlResult } from '../jobs/hourly-etl.ts';
import type { Logger } from '../lib/log/logger.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import type { DailyJob } from './daily-jobs.ts';
import type { HourlyFollowUp } from './hourly-follow-ups.ts';
import { entriesByHour, hourKey, hoursBetween, partitionStatus, publishedSnapshots, type PartitionState } from './partition-status.ts';
import { runHourAndRecord } from './run-hour.ts';
import { RunLedger, runLedgerOf } from './run-ledger.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The subset of node-cron the scheduler needs (injected in tests, which tick by hand). */
export interface CronPort {
  schedule(expression: string, task: () => void, name: string): { stop(): void };
}

export interface SchedulerOptions {
  config: Config;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  cron: CronPort;
  dailyJobs?: readonly DailyJob[];
  /** Run after each hour the scheduler publishes (the analytics job), in the same queue slot. */
  followUps?: readonly HourlyFollowUp[];
  now?: () => Date;
  runHour?: typeof runHourAndRecord;
}

type Work = { kind: 'hour'; hour: Date; trigger: 'scheduler' | 'catch-up' | 'rescan' } | { kind: 'daily'; day: Date; job: DailyJob };

/** The latest event hour whose delivery window (H .. H+1h+lateness) has closed at `now`. */
export function dueHour(now: Date, latenessMs: number): Date {
  return new Date(Math.floor((now.getTime() - HOUR - latenessMs) / HOUR) * HOUR);
}

/**
 * `netflow scheduler`: in UTC, every hour at `scheduler.hourly_minute` the hourly job for the hour
 * that closed `lateness` ago; every hour at `scheduler.rescan_minute` a rescan that reruns hours
 * of the look-back whose raw objects changed since they were published (or that are missing,
 * incomplete or failed); every day at `scheduler.daily_at` the daily jobs for the previous day.
 *
 * All work goes through one queue served by one worker, so runs never overlap in this process
 * (and the partition lock keeps other processes off the same hour). An hour already queued is not
 * queued twice. On start, hours of the catch-up window that are not published are queued first.
 * stop() stops the timers, drops what is queued and resolves when the running job has finished.
 * The constructor does no I/O.
 */
export class Scheduler {
  private readonly queue: Work[] = [];
  private readonly tasks: { stop(): void }[] = [];
  private running: Promise<void> | undefined;
  private current: Work | undefined;
  private stopping = false;
  private readonly now: () => Date;
  private readonly latenessMs: number;
  private readonly ledger: RunLedger;
  readonly completed: { work: string; status: string }[] = [];

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? (() => new Date());
    this.latenessMs = durationMs(options.config.lateness);
    this.ledger = runLedgerOf(options);
  }

  /** Registers the timers and queues the catch-up; returns once the catch-up is queued. */
  async start(): Promise<void> {
    if (this.stopping) return;
    const s = this.options.config.scheduler;
    const [dailyHour, dailyMinute] = s.daily_at.split(':').map(Number) as [number, number];
    this.tasks.push(this.options.cron.schedule(`${s.hourly_minute} * * * *`, () => this.hourlyTick(), 'hourly'));
    this.tasks.push(
      this.options.cron.schedule(`${s.rescan_minute} * * * *`, () => void this.rescanTick().catch((error: unknown) => this.options.logger.error('rescan failed', { error: String(error) })), 'rescan'),
    );
    if ((this.options.dailyJobs ?? []).length > 0) {
      this.tasks.push(this.options.cron.schedule(`${dailyMinute} ${dailyHour} * * *`, () => this.dailyTick(), 'daily'));
    }
    this.options.logger.info('scheduler started', {
      hourly_minute: s.hourly_minute,
      rescan_minute: s.rescan_minute,
      daily_at: s.daily_at,
      lateness: this.options.config.lateness,
      daily_jobs: (this.options.dailyJobs ?? []).map((job) => job.name),
    });
    await this.catchUp();
  }

  /** Queues the hour that has just closed. */
  hourlyTick(): void {
    this.enqueue({ kind: 'hour', hour: dueHour(this.now(), this.latenessMs), trigger: 'scheduler' });
  }

  /** Queues every hour of the look-back that needs a run (inputs changed, missing, incomplete or failed). */
  async rescanTick(): Promise<string[]> {
    const due = dueHour(this.now(), this.latenessMs);
    const from = new Date(due.getTime() - durationMs(this.options.config.scheduler.rescan_lookback) + HOUR);
    return this.queueUnpublished(from, due, true, 'rescan', ['late', 'missing', 'incomplete', 'failed']);
  }

  /** Queues the daily jobs for the previous UTC day. */
  dailyTick(): void {
    const today = Math.floor(this.now().getTime() / DAY) * DAY;
    for (const job of this.options.dailyJobs ?? []) this.enqueue({ kind: 'daily', day: new Date(today - DAY), job });
  }

  async catchUp(): Promise<string[]> {
    const due = dueHour(this.now(), this.latenessMs);
    const from = new Date(due.getTime() - durationMs(this.options.config.scheduler.catch_up) + HOUR);
    return this.queueUnpublished(from, due, false, 'catch-up', ['missing', 'incomplete', 'failed']);
  }

  /** Resolves when the queue is empty and nothing runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops the timers, drops queued work, and waits for the running job to finish or fail. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const task of this.tasks.splice(0)) task.stop();
    const dropped = this.queue.splice(0);
    if (this.current) this.options.logger.info('scheduler stopping: waiting for the running job', { work: describe(this.current), dropped: dropped.length });
    await this.idle();
    this.options.logger.info('scheduler stopped', { dropped: dropped.map(describe) });
  }

  private async queueUnpublished(from: Date, to: Date, compareInputs: boolean, trigger: 'catch-up' | 'rescan', states: PartitionState[]): Promise<string[]> {
    if (to < from) return [];
    const byHour = entriesByHour(await this.ledger.entries());
    const queued: string[] = [];
    const snapshots = await publishedSnapshots(this.options.store);
    for (const hour of hoursBetween(from, to)) {
      if (this.stopping) break;
      const status = await partitionStatus({ store: this.options.store, config: this.options.config, hour, entries: byHour.get(hourKey(hour)) ?? [], compareInputs, snapshots });
      if (!states.includes(status.state)) continue;
      if (status.state === 'late') this.options.logger.info('late data', { hour: status.hour, ...countChanges(status.changes) });
      if (this.enqueue({ kind: 'hour', hour, trigger })) queued.push(status.hour);
    }
    if (queued.length > 0) this.options.logger.info(`${trigger} queued hours`, { hours: queued });
    return queued;
  }

  private enqueue(work: Work): boolean {
    if (this.stopping) return false;
    const key = describe(work);
    if ((this.current && describe(this.current) === key) || this.queue.some((queued) => describe(queued) === key)) return false;
    this.queue.push(work);
    this.running ??= this.drain();
    return true;
  }

  private async drain(): Promise<void> {
    // Never finish synchronously, so `running` is assigned before it is cleared; clearing it in
    // the same synchronous step as the last queue check means no work is left behind unserved.
    await Promise.resolve();
    try {
      await this.serve();
    } finally {
      this.running = undefined;
    }
  }

  private async serve(): Promise<void> {
    while (!this.stopping && this.queue.length > 0) {
      const work = this.queue.shift()!;
      this.current = work;
      try {
        this.completed.push({ work: describe(work), status: await this.execute(work) });
      } catch (error) {
        this.options.logger.error('scheduled work failed', { work: describe(work), error: String(error) });
        this.completed.push({ work: describe(work), status: 'failed' });
      } finally {
        this.current = undefined;
      }
    }
  }

  private async execute(work: Work): Promise<string> {
    if (work.kind === 'hour') {
      const run = this.options.runHour ?? runHourAndRecord;
      const result: HourlyEtlResult = await run({
        config: this.options.config,
        baseDir: this.options.baseDir,
        store: this.options.store,
        logger: this.options.logger,
        hour: work.hour,
        trigger: work.trigger,
        // The hourly tick may meet an hour the catch-up has just published: no need to run it again.
        skipWhenPublished: work.trigger === 'scheduler',
      });
      this.options.logger.info('scheduled run finished', { hour: result.hour, trigger: work.trigger, status: result.status, run_id: result.runId, ...(result.error ? { error: result.error } : {}) });
      if (result.status === 'published') {
        // A republished (late) hour is part of the look-back of every later hour: analyse them all again, up to the due hour.
        const due = dueHour(this.now(), this.latenessMs);
        const range = { from: work.hour, to: new Date(Math.max(work.hour.getTime(), work.trigger === 'rescan' ? due.getTime() : 0) + HOUR) };
        for (const followUp of this.options.followUps ?? []) {
          const outcome = await followUp(range).catch((error: unknown) => ({ status: 'failed' as const, error: String(error) }));
          this.options.logger[outcome.status === 'ok' ? 'info' : 'error']('follow-up finished', { from: hourKey(range.from), to: hourKey(range.to), ...outcome });
        }
      }
      return result.status;
    }
    const outcome = await work.job.run(work.day);
    this.options.logger[outcome.status === 'ok' ? 'info' : 'error']('daily job finished', { job: work.job.name, day: work.day.toISOString().slice(0, 10), ...outcome });
    return outcome.status;
  }
}

function describe(work: Work): string {
  return work.kind === 'hour' ? `hour ${hourKey(work.hour)}` : `daily ${work.job.name} ${work.day.toISOString().slice(0, 10)}`;
}

function countChanges(changes: { added: string[]; changed: string[]; removed: string[] } | null): Record<string, number> {
  return { added: changes?.added.length ?? 0, changed: changes?.changed.length ?? 0, removed: changes?.removed.length ?? 0 };
}
