import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSegmentKey } from '../../schemas/agent-record.ts';
import { durationMs } from '../../schemas/config.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { count, FULL, randomInt, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suite 6 of issue 8 (the parts the pipeline has today): agent segments replayed with realistic
 * arrival delays — most within 10 minutes, a tail to 2 hours, 1 % after the rescan look-back —
 * from VMs whose clocks are off by up to ±5 minutes. Time is simulated hour by hour: at each
 * tick the objects that have arrived are in the store, the hour that closed `lateness` ago runs,
 * and every hour of the look-back whose inputs changed reruns (what the scheduler's late-data
 * rescan queues). Records that arrived within the look-back must be in the hour of their own
 * start time, each exactly once. Records that arrived after it are counted and reported: the
 * pipeline has no late table yet (see docs/reliability.md).
 */
const seed = suiteSeed();
const HOURS = count(4, 1);
const RECORDS_PER_HOUR = count(1200, 150);
const LATENESS = '15m';
const LOOKBACK = FULL ? '6h' : '2h';
const H0 = Date.UTC(2024, 6, 1, 0);
const HOUR = 3_600_000;

describe('late data and clock skew', () => {
  let lake: LakeFixture;
  beforeAll(async () => {
    lake = await createLakeFixture({ config: { lateness: LATENESS, scheduler: { rescan_lookback: LOOKBACK } } });
  });
  afterAll(() => lake?.cleanup());

  it(`${HOURS} hours × ${RECORDS_PER_HOUR} records: within the look-back, right hour 100 %, each once`, async () => {
    const random = seededRandom(seed);
    const vms = Array.from({ length: 6 }, (_, i) => ({ id: `i-0late000000000${i}`, skewMs: Math.round((random() * 2 - 1) * 5 * 60_000) }));
    // One segment per VM per minute of its (skewed) clock; records start within that minute.
    interface Segment { key: string; body: Buffer; arrivesAt: number; ports: number[] }
    const segments: Segment[] = [];
    const expected = new Map<number, { hour: number; arrivesLate: boolean }>();
    let port = 1;
    let seq = 0;
    const lookbackMs = durationMs(LOOKBACK);
    for (const vm of vms) {
      const byMinute = new Map<number, string[]>();
      const perVm = Math.ceil((HOURS * RECORDS_PER_HOUR) / vms.length);
      for (let r = 0; r < perVm; r++) {
        const trueStart = H0 + randomInt(random, HOURS * HOUR);
        const start = trueStart + vm.skewMs; // what the VM's clock says
        const minute = Math.floor(start / 60_000) * 60_000;
        const srcPort = port++;
        const record = JSON.stringify({
          v: 1, vm_id: vm.id, interface_id: 'eth0', interval_start_at: new Date(minute).toISOString(), interval_s: 60,
          start_at: new Date(start).toISOString(), end_at: new Date(start + 500).toISOString(), src_ip: '10.0.2.10', dst_ip: '10.0.3.10',
          src_port: srcPort % 65536, dst_port: 1433 + Math.floor(srcPort / 65536), protocol: 6, direction: 'egress', packets: 1, bytes: 60, tcp_flags: 2,
        });
        byMinute.set(minute, [...(byMinute.get(minute) ?? []), record]);
        expected.set(srcPort, { hour: Math.floor(start / HOUR) * HOUR, arrivesLate: false });
      }
      for (const [minute, records] of byMinute) {
        const closedAt = minute + 60_000 + randomInt(random, 30_000);
        const roll = random();
        // Arrival delay after the close: 89 % within 10 min, 10 % 10 min–2 h, 1 % beyond the look-back.
        const delay = roll < 0.89 ? Math.min(10 * 60_000, -Math.log(1 - random()) * 3 * 60_000) : roll < 0.99 ? 10 * 60_000 + random() * 110 * 60_000 : lookbackMs + HOUR + random() * HOUR;
        const ports = records.map((line) => (JSON.parse(line) as { src_port: number; dst_port: number }).src_port + ((JSON.parse(line) as { dst_port: number }).dst_port - 1433) * 65536);
        const segment: Segment = { key: agentSegmentKey(vm.id, seq++, new Date(closedAt)), body: gzipSync(`${records.join('\n')}\n`), arrivesAt: closedAt + delay, ports };
        segments.push(segment);
      }
    }
    // Simulated clock: every hour at :20 (the scheduler's hourly minute) until every segment has arrived.
    const lastArrival = Math.max(...segments.map((s) => s.arrivesAt));
    const pending = [...segments].sort((a, b) => a.arrivesAt - b.arrivesAt);
    let runs = 0;
    let reruns = 0;
    for (let now = H0 + 20 * 60_000; now <= lastArrival + 2 * HOUR; now += HOUR) {
      while (pending.length > 0 && pending[0]!.arrivesAt <= now) {
        const segment = pending.shift()!;
        await lake.store.putBytes(segment.key, segment.body);
        // Arrived after its hour's last chance: the hour closed more than the look-back ago.
        const keyHour = Date.parse(`${/dt=([\d-]+)\/hour=(\d\d)/.exec(segment.key)!.slice(1, 3).join('T')}:00:00Z`);
        if (now - (keyHour + HOUR) > lookbackMs) for (const p of segment.ports) expected.get(p)!.arrivesLate = true;
      }
      const due = Math.floor((now - durationMs(LATENESS)) / HOUR) * HOUR - HOUR;
      // Skewed clocks put records up to 5 minutes outside [H0, H0 + HOURS h): the hours on both sides run too.
      for (let hour = Math.max(H0 - HOUR, due - lookbackMs + HOUR); hour <= Math.min(due, H0 + HOURS * HOUR); hour += HOUR) {
        const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(hour), trigger: 'test', skipWhenPublished: true });
        runs++;
        if (result.status === 'published') reruns++;
        expect(result.error ?? 'ok', new Date(hour).toISOString()).toBe('ok');
      }
    }
    const rows = await queryLake<{ port: number; start_at: Date; n: bigint }>(
      lake,
      `SELECT src_port + (dst_port - 1433) * 65536 AS port, min(start_at) AS start_at, count(*) AS n FROM flows WHERE dst_ip = '10.0.3.10' GROUP BY 1`,
    );
    const published = new Map(rows.map((r) => [Number(r.port), { hour: Math.floor(r.start_at.getTime() / HOUR) * HOUR, n: Number(r.n) }]));
    let withinLookback = 0;
    let rightHour = 0;
    let duplicated = 0;
    let lateRecords = 0;
    let latePublished = 0;
    for (const [p, want] of expected) {
      const got = published.get(p);
      if (got && got.n > 1) duplicated++;
      if (want.arrivesLate) {
        lateRecords++;
        if (got) latePublished++;
        continue;
      }
      withinLookback++;
      if (got && got.hour === want.hour && got.n === 1) rightHour++;
    }
    reportFigures('late-data', {
      seed, hours: HOURS, records: expected.size, segments: segments.length, vm_skews_s: vms.map((v) => Math.round(v.skewMs / 1000)),
      within_lookback: withinLookback, right_hour: rightHour, right_hour_pct: Number(((100 * rightHour) / withinLookback).toFixed(3)), duplicated,
      beyond_lookback: lateRecords, beyond_lookback_published: latePublished, beyond_lookback_unpublished: lateRecords - latePublished, job_runs: runs, publishes: reruns, full: FULL,
    });
    expect(duplicated).toBe(0);
    expect(rightHour).toBe(withinLookback);
  }, 3600_000);
});
