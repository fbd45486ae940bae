import { utimes } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSegmentKey } from '../../schemas/agent-record.ts';
import { durationMs } from '../../schemas/config.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { dueHour, Scheduler } from '../../orchestration/scheduler.ts';
import type { AlertPayload } from '../../lib/alerts/alert-payload.ts';
import { WebhookServer } from '../alerts/webhook-server.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { count, FULL, randomInt, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suite 6 of issue 8: agent segments replayed with realistic arrival delays — most within 10
 * minutes, a tail to 2 hours, 1 % after the rescan look-back — from VMs whose clocks are off by up
 * to ±5 minutes, through the real scheduler on a simulated clock: every hour at :20 its hourly
 * tick (the due hour), at :45 its rescan (hours of the look-back whose inputs changed).
 *
 * A record is *late* when its hour is older than the look-back of the first rescan after its
 * segment reached the store: no run republishes that hour. Records that are not late must be in
 * `flows` of their own (clock) hour, exactly once; late ones in `late_records`, exactly once, with
 * their hour, never in `flows`, and announced by a `late_data_beyond_lookback` alert delivered to
 * a real webhook. Forced reruns of every run that routed late records change nothing, and folding
 * one late hour back (rerunning it) moves its records into `flows` without any later run routing
 * them again.
 */
const seed = suiteSeed();
const HOURS = count(4, 1);
const RECORDS_PER_HOUR = count(1200, 150);
const LATENESS = '15m';
const LOOKBACK = FULL ? '6h' : '2h';
const H0 = Date.UTC(2024, 6, 1, 0);
const HOUR = 3_600_000;
const MINUTE = 60_000;
const hourText = (time: number) => new Date(time).toISOString().slice(0, 13);

interface Expected {
  hour: number;
  late: boolean;
  arrivesAt: number;
}

describe('late data and clock skew', () => {
  let lake: LakeFixture;
  const webhook = new WebhookServer();
  beforeAll(async () => {
    await webhook.start();
    lake = await createLakeFixture({
      config: {
        lateness: LATENESS,
        scheduler: { rescan_lookback: LOOKBACK, late_horizon: '24h', catch_up: '1h' },
        alerts: { sinks: [{ type: 'webhook', name: 'soc', url: webhook.url, min_severity: 'high' }] },
      },
    });
  });
  afterAll(async () => {
    await webhook.stop();
    await lake?.cleanup();
  });

  it(`${HOURS} hours × ${RECORDS_PER_HOUR} records: right hour or late_records, each exactly once, late ones alerted`, async () => {
    const random = seededRandom(seed);
    const lookbackMs = durationMs(LOOKBACK);
    const latenessMs = durationMs(LATENESS);
    const vms = Array.from({ length: 6 }, (_, i) => ({ id: `i-0late000000000${i}`, skewMs: Math.round((random() * 2 - 1) * 5 * MINUTE) }));
    // One segment per VM per minute of its (skewed) clock; records start within that minute.
    interface Segment {
      key: string;
      body: Buffer;
      arrivesAt: number;
      ports: number[];
      beyondLookback: boolean;
    }
    const segments: Segment[] = [];
    const expected = new Map<number, Expected>();
    let port = 1;
    let seq = 0;
    for (const vm of vms) {
      const byMinute = new Map<number, string[]>();
      const perVm = Math.ceil((HOURS * RECORDS_PER_HOUR) / vms.length);
      for (let r = 0; r < perVm; r++) {
        const trueStart = H0 + randomInt(random, HOURS * HOUR);
        const start = trueStart + vm.skewMs; // what the VM's clock says
        const minute = Math.floor(start / MINUTE) * MINUTE;
        const srcPort = port++;
        const record = JSON.stringify({
          v: 1,
          vm_id: vm.id,
          interface_id: 'eth0',
          interval_start_at: new Date(minute).toISOString(),
          interval_s: 60,
          start_at: new Date(start).toISOString(),
          end_at: new Date(start + 500).toISOString(),
          src_ip: '10.0.2.10',
          dst_ip: '10.0.3.10',
          src_port: srcPort % 65536,
          dst_port: 1433 + Math.floor(srcPort / 65536),
          protocol: 6,
          direction: 'egress',
          packets: 1,
          bytes: 60,
          tcp_flags: 2,
        });
        byMinute.set(minute, [...(byMinute.get(minute) ?? []), record]);
        expected.set(srcPort, { hour: Math.floor(start / HOUR) * HOUR, late: false, arrivesAt: 0 });
      }
      for (const [minute, records] of byMinute) {
        const closedAt = minute + MINUTE + randomInt(random, 30_000);
        const roll = random();
        // Arrival delay after the close: 89 % within 10 min, 10 % 10 min–2 h, 1 % beyond the look-back.
        const delay = roll < 0.89 ? Math.min(10 * MINUTE, -Math.log(1 - random()) * 3 * MINUTE) : roll < 0.99 ? 10 * MINUTE + random() * 110 * MINUTE : lookbackMs + HOUR + random() * HOUR;
        const ports = records.map((line) => {
          const parsed = JSON.parse(line) as { src_port: number; dst_port: number };
          return parsed.src_port + (parsed.dst_port - 1433) * 65536;
        });
        segments.push({
          key: agentSegmentKey(vm.id, seq++, new Date(closedAt)),
          body: gzipSync(`${records.join('\n')}\n`),
          arrivesAt: Math.round(closedAt + delay),
          ports,
          beyondLookback: roll >= 0.99,
        });
      }
    }

    // At reduced counts 1 % of the segments may be none: the first few arrive after the look-back then, so the late path always runs.
    for (const segment of segments.filter((s) => !s.beyondLookback).slice(0, Math.max(0, 3 - segments.filter((s) => s.beyondLookback).length))) {
      segment.arrivesAt += lookbackMs + HOUR + randomInt(random, HOUR);
      segment.beyondLookback = true;
    }

    let clock = new Date(H0);
    const scheduler = new Scheduler({
      config: lake.config,
      baseDir: lake.dir,
      store: lake.store,
      logger: lake.logger,
      now: () => clock,
      cron: { schedule: () => ({ stop: () => undefined }) },
    });
    const pending = [...segments].sort((a, b) => a.arrivesAt - b.arrivesAt);
    const lastArrival = pending.at(-1)!.arrivesAt;
    const deliverUntil = async (time: number, nextRescan: number) => {
      // The oldest hour the next rescan still reruns; records of older hours can only be late.
      const oldestRerun = dueHour(new Date(nextRescan), latenessMs).getTime() - lookbackMs + HOUR;
      while (pending.length > 0 && pending[0]!.arrivesAt <= time) {
        const segment = pending.shift()!;
        await lake.store.putBytes(segment.key, segment.body);
        // The store's last-modified time is the simulated arrival: late_records' delivery delay is then exact.
        const arrived = new Date(segment.arrivesAt);
        await utimes(lake.store.localPathOf!(segment.key)!, arrived, arrived);
        for (const p of segment.ports) {
          const want = expected.get(p)!;
          want.arrivesAt = segment.arrivesAt;
          want.late = want.hour < oldestRerun;
        }
      }
    };
    for (let tick = H0; tick <= lastArrival + 2 * HOUR; tick += HOUR) {
      clock = new Date(tick + 20 * MINUTE);
      await deliverUntil(clock.getTime(), tick + 45 * MINUTE);
      scheduler.hourlyTick();
      await scheduler.idle();
      clock = new Date(tick + 45 * MINUTE);
      await deliverUntil(clock.getTime(), clock.getTime());
      await scheduler.rescanTick();
      await scheduler.idle();
    }
    const failed = scheduler.completed.filter((c) => c.status === 'failed');
    expect(failed).toEqual([]);

    const check = async (stage: string) => {
      const flows = new Map(
        (
          await queryLake<{ port: number; start_at: Date; n: bigint }>(
            lake,
            `SELECT src_port + (dst_port - 1433) * 65536 AS port, min(start_at) AS start_at, count(*) AS n FROM flows WHERE dst_ip = '10.0.3.10' GROUP BY 1`,
          )
        ).map((r) => [Number(r.port), { hour: Math.floor(r.start_at.getTime() / HOUR) * HOUR, n: Number(r.n) }]),
      );
      const late = new Map(
        (
          await queryLake<{ port: number; event_hour_at: Date; reasons: string; n: bigint; delay_s: bigint; run_hours: string }>(
            lake,
            `SELECT src_port + (dst_port - 1433) * 65536 AS port, min(event_hour_at) AS event_hour_at, string_agg(DISTINCT reason, ',') AS reasons,
                    count(*) AS n, min(delivery_delay_s) AS delay_s, string_agg(DISTINCT strftime(run_hour_at, '%Y-%m-%dT%H'), ',') AS run_hours
             FROM late_records WHERE dst_ip = '10.0.3.10' GROUP BY 1`,
          )
        ).map((r) => [Number(r.port), { hour: r.event_hour_at.getTime(), reasons: r.reasons, n: Number(r.n), delayS: Number(r.delay_s), runHours: r.run_hours }]),
      );
      const figures = { within_lookback: 0, right_hour: 0, duplicated: 0, beyond_lookback: 0, in_late_table: 0, late_in_flows: 0, lost: 0, wrong_delay: 0 };
      for (const [p, want] of expected) {
        const inFlows = flows.get(p);
        const inLate = late.get(p);
        if ((inFlows?.n ?? 0) + (inLate?.n ?? 0) > 1) figures.duplicated++;
        if (!inFlows && !inLate) figures.lost++;
        if (!want.late) {
          figures.within_lookback++;
          if (inFlows?.hour === want.hour && inFlows.n === 1 && !inLate) figures.right_hour++;
          continue;
        }
        figures.beyond_lookback++;
        if (inFlows) figures.late_in_flows++;
        if (inLate && inLate.n === 1 && inLate.hour === want.hour && inLate.reasons === 'beyond_lookback') figures.in_late_table++;
        if (inLate && Math.abs(inLate.delayS - (want.arrivesAt - want.hour - HOUR) / 1000) > 1) figures.wrong_delay++;
      }
      return { stage, figures, lateRunHours: new Set([...late.values()].map((l) => l.runHours)) };
    };

    const after = await check('after the simulation');
    // Every late record is announced: per event hour, the alerts' record counts add up to its late records.
    const lateAlerts = webhook
      .accepted()
      .flatMap((request) => (JSON.parse(request.body) as { alerts: AlertPayload[] }).alerts)
      .filter((alert) => alert.rule_id === 'late_data_beyond_lookback');
    const alertedByHour = new Map<string, number>();
    for (const alert of lateAlerts) alertedByHour.set(alert.hour, (alertedByHour.get(alert.hour) ?? 0) + alert.flow_count);
    const lateByHour = new Map<string, number>();
    for (const want of expected.values()) if (want.late) lateByHour.set(hourText(want.hour), (lateByHour.get(hourText(want.hour)) ?? 0) + 1);
    expect(Object.fromEntries(alertedByHour)).toEqual(Object.fromEntries(lateByHour));
    expect(new Set(lateAlerts.map((alert) => alert.alert_id)).size).toBe(lateAlerts.length);
    for (const alert of lateAlerts) expect(alert.description).toContain(`netflow backfill --from ${alert.hour} --to ${alert.hour}`);
    // Every run reconciles: records read = flows + other hours + late + nodata + skipdata + quarantined.
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    for (const entry of entries.filter((e) => e.status === 'published')) {
      const c = entry.counts;
      expect(c.records_read, entry.hour).toBe(c.flows_published + c.other_hour + (c.late ?? 0) + c.nodata + c.skipdata + c.quarantined);
    }

    // Forced reruns of every run that routed late records: the late table and flows stay the same.
    const routingHours = [...new Set([...after.lateRunHours].flatMap((hours) => hours.split(',')))].sort();
    for (const hour of routingHours) {
      const rerun = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(`${hour}:00:00Z`), trigger: 'test' });
      expect(rerun.error ?? rerun.status, hour).toBe('published');
    }
    const afterReruns = await check('after forced reruns of the routing runs');

    // The alert's remedy: rerunning a late hour folds its late records into flows, and the next
    // runs do not route them again (the hour's inputs now hold them).
    const folded = [...lateByHour.keys()].sort()[0];
    let afterFold: Awaited<ReturnType<typeof check>> | undefined;
    if (folded) {
      const fold = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(`${folded}:00:00Z`), trigger: 'backfill' });
      expect(fold.error ?? fold.status).toBe('published');
      clock = new Date(clock.getTime() + 35 * MINUTE);
      scheduler.hourlyTick();
      await scheduler.idle();
      afterFold = await check(`after rerunning ${folded}`);
      const [foldedFlows] = await queryLake<{ n: bigint }>(
        lake,
        `SELECT count(*) AS n FROM flows WHERE dst_ip = '10.0.3.10' AND date_trunc('hour', start_at) = TIMESTAMP '${folded.replace('T', ' ')}:00:00'`,
      );
      const inHour = [...expected.values()].filter((want) => hourText(want.hour) === folded).length;
      expect(Number(foldedFlows!.n)).toBe(inHour);
    }

    reportFigures('late-data', {
      seed,
      hours: HOURS,
      records: expected.size,
      segments: segments.length,
      vm_skews_s: vms.map((v) => Math.round(v.skewMs / 1000)),
      ...after.figures,
      right_hour_pct: Number(((100 * after.figures.right_hour) / after.figures.within_lookback).toFixed(3)),
      late_alerts: lateAlerts.length,
      late_hours: lateByHour.size,
      scheduled_runs: scheduler.completed.length,
      publishes: scheduler.completed.filter((c) => c.status === 'published').length,
      routing_runs_rerun: routingHours.length,
      after_reruns: afterReruns.figures,
      folded_hour: folded ?? null,
      full: FULL,
    });
    expect(after.figures.duplicated).toBe(0);
    expect(after.figures.lost).toBe(0);
    expect(after.figures.right_hour).toBe(after.figures.within_lookback);
    expect(after.figures.in_late_table).toBe(after.figures.beyond_lookback);
    expect(after.figures.late_in_flows).toBe(0);
    expect(after.figures.wrong_delay).toBe(0);
    expect(afterReruns.figures).toEqual(after.figures);
    if (afterFold) {
      // The folded hour's records are in flows now and still in late_records (the record of their late arrival): nothing new was routed.
      expect(afterFold.figures.lost).toBe(0);
      expect(afterFold.figures.in_late_table).toBe(after.figures.in_late_table);
    }
  }, 3600_000);
});
