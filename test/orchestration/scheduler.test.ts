import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import type { DailyJob } from '../../orchestration/daily-jobs.ts';
import { dueHour, Scheduler, type CronPort } from '../../orchestration/scheduler.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';

const MINUTE = 60_000;

describe('dueHour: the latest hour whose delivery window has closed', () => {
  it.each([
    ['14:20 with 15m lateness runs 13:00', '2024-05-01T14:20:00Z', 15, '2024-05-01T13:00:00.000Z'],
    ['14:14 with 15m lateness still runs 12:00 (13:00 may get objects until 14:15)', '2024-05-01T14:14:59Z', 15, '2024-05-01T12:00:00.000Z'],
    ['exactly at the window close', '2024-05-01T14:15:00Z', 15, '2024-05-01T13:00:00.000Z'],
    ['00:30 with 15m lateness runs yesterday 23:00', '2024-05-02T00:30:00Z', 15, '2024-05-01T23:00:00.000Z'],
    ['2h lateness', '2024-05-01T14:20:00Z', 120, '2024-05-01T11:00:00.000Z'],
  ])('%s', (_name, now, latenessMinutes, expected) => {
    expect(dueHour(new Date(now), latenessMinutes * MINUTE).toISOString()).toBe(expected);
  });
});

/** A cron port that records what was scheduled; the test ticks by hand. */
function manualCron(): CronPort & { schedules: string[]; stopped: number } {
  const port = {
    schedules: [] as string[],
    stopped: 0,
    schedule(expression: string, _task: () => void, name: string) {
      port.schedules.push(`${name} ${expression}`);
      return { stop: () => void port.stopped++ };
    },
  };
  return port;
}

describe('the scheduler', () => {
  let lake: LakeFixture;
  let clock: Date;
  let concurrent = 0;
  let maxConcurrent = 0;
  /** Hours given to a fake runner instead of the real job (to keep the suite short where the job itself is not the point). */
  let fakeRuns: string[] | undefined;
  const daily: string[] = [];
  const followUps: string[] = [];
  const cron = manualCron();
  let scheduler: Scheduler;
  const ledger = () => new RunLedger(lake.config.ledger.path).entries();

  beforeAll(async () => {
    lake = await createLakeFixture({ config: { scheduler: { catch_up: '2h', rescan_lookback: '2h', daily_at: '01:30' } } });
    await deliverSamples({ store: lake.store });
    clock = new Date('2024-05-01T15:20:00Z');
    const reports: DailyJob = { name: 'compliance', run: async (day) => (daily.push(day.toISOString().slice(0, 10)), { status: 'ok' }) };
    scheduler = new Scheduler({
      config: lake.config,
      baseDir: lake.dir,
      store: lake.store,
      logger: lake.logger,
      cron,
      now: () => clock,
      dailyJobs: [reports],
      followUps: [async ({ from, to }) => (followUps.push(`${from.toISOString().slice(0, 13)}..${to.toISOString().slice(0, 13)}`), { status: 'ok' })],
      runHour: async (options) => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        try {
          if (fakeRuns) {
            const hour = options.hour.toISOString().slice(0, 13);
            fakeRuns.push(`${hour} ${options.trigger}`);
            await new Promise((resolve) => setTimeout(resolve, 200));
            return {
              status: 'published',
              hour,
              runId: 'r',
              attemptId: 'a',
              inputs: [],
              referenceHash: null,
              rulesHash: null,
              counts: {} as never,
              countsBySource: {},
              models: [],
              tables: [],
              alerts: [],
              durationsMs: {},
            };
          }
          return await runHourAndRecord(options);
        } finally {
          concurrent--;
        }
      },
    });
  });
  afterAll(() => lake?.cleanup());

  it('schedules the hourly job, the rescan and the daily jobs in UTC, and catches up on start', async () => {
    await scheduler.start();
    expect(cron.schedules).toEqual(['hourly 20 * * * *', 'rescan 45 * * * *', 'daily 30 1 * * *']);
    await scheduler.idle();
    // 15:20 with 15m lateness: 14:00 is due; a 2h catch-up covers 13:00 and 14:00.
    expect((await ledger()).map((entry) => `${entry.hour} ${entry.status} ${entry.trigger}`)).toEqual(['2024-05-01T13 published catch-up', '2024-05-01T14 published catch-up']);
    // The analytics job follows each published hour.
    expect(followUps).toEqual(['2024-05-01T13..2024-05-01T14', '2024-05-01T14..2024-05-01T15']);
  });

  it('does not queue an hour twice and never runs two jobs at once', async () => {
    fakeRuns = [];
    clock = new Date('2024-05-01T16:20:00Z');
    scheduler.hourlyTick();
    scheduler.hourlyTick();
    clock = new Date('2024-05-01T17:20:00Z');
    scheduler.hourlyTick();
    scheduler.hourlyTick();
    await scheduler.idle();
    expect(fakeRuns).toEqual(['2024-05-01T15 scheduler', '2024-05-01T16 scheduler']);
    expect(maxConcurrent).toBe(1);
    fakeRuns = undefined;
  });

  it('rescans: reruns only the hour whose raw objects changed since it was published', async () => {
    clock = new Date('2024-05-01T15:45:00Z');
    expect(await scheduler.rescanTick()).toEqual([]);
    // A late agent segment for 13:00, delivered within 13:00's window but after its run.
    const late = {
      v: 1,
      vm_id: 'i-0batch000000001',
      interface_id: 'eth0',
      interval_start_at: '2024-05-01T13:59:00.000Z',
      interval_s: 60,
      start_at: '2024-05-01T13:59:30.000Z',
      end_at: '2024-05-01T13:59:31.000Z',
      src_ip: '10.0.5.20',
      dst_ip: '10.0.4.51',
      src_port: 40000,
      dst_port: 6379,
      protocol: 6,
      direction: 'egress',
      packets: 2,
      bytes: 120,
      tcp_flags: 2,
    };
    const key = 'raw/agent/dt=2024-05-01/hour=13/vm=i-0batch000000001/i-0batch000000001-000000000099.ndjson.gz';
    await lake.store.putBytes(key, gzipSync(`${JSON.stringify(late)}\n`));
    expect(await scheduler.rescanTick()).toEqual(['2024-05-01T13']);
    await scheduler.idle();
    const rerun = (await ledger()).at(-1)!;
    expect(`${rerun.hour} ${rerun.status} ${rerun.trigger}`).toBe('2024-05-01T13 published rescan');
    expect(rerun.inputs.map((input) => input.key)).toContain(key);
    expect(rerun.counts.flows_published).toBe(437);
    // A republished hour is in the look-back of the later ones: analytics reruns up to the due hour.
    expect(followUps.at(-1)).toBe('2024-05-01T13..2024-05-01T15');
    expect(await scheduler.rescanTick()).toEqual([]);
  });

  it('runs the daily jobs for the previous UTC day', async () => {
    clock = new Date('2024-05-02T01:30:00Z');
    scheduler.dailyTick();
    await scheduler.idle();
    expect(daily).toEqual(['2024-05-01']);
  });

  it('stop() lets the running job finish, drops what is queued and stops the timers', async () => {
    fakeRuns = [];
    clock = new Date('2024-05-01T18:20:00Z');
    scheduler.hourlyTick();
    while (fakeRuns.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The hour is running: the daily job queued behind it is dropped by the stop.
    clock = new Date('2024-05-02T01:30:00Z');
    scheduler.dailyTick();
    await scheduler.stop();
    expect(cron.stopped).toBe(3);
    expect(fakeRuns).toEqual(['2024-05-01T17 scheduler']);
    expect(scheduler.completed.at(-1)).toEqual({ work: 'hour 2024-05-01T17', status: 'published' });
    expect(daily).toEqual(['2024-05-01']);
    scheduler.hourlyTick();
    await scheduler.idle();
    expect(fakeRuns).toHaveLength(1);
  });
});
