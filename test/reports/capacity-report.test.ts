import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDailyReports, runReport, type DailyReportsResult } from '../../jobs/reports/run-daily-reports.ts';
import type { CapacityReport } from '../../lib/reports/capacity-report.ts';
import { capacityHourlyTable } from '../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { chromium, inkStats, renderInChromium, visibleText } from './support/chromium.ts';
import { publishTableRows } from './support/publish-rows.ts';

/**
 * The capacity report over four weeks of capacity_hourly (two hours a day) with known shapes: a
 * VM growing 1/64 a day (projected to reach 70 % ten days after the last day), one already
 * critical, one flat in warning, one steady, one falling, and a link of unknown capacity.
 */
const DAYS = 28;
const FIRST = Date.parse('2024-06-01T00:00:00Z');
const CAPACITY = 1000;

const shapes: { id: string; name: string; scope: 'vm' | 'segment_pair'; capacity: number | null; util: (day: number) => number }[] = [
  { id: 'i-db-1', name: '<b>db-1</b>', scope: 'vm', capacity: CAPACITY, util: (d) => 0.125 + d / 64 },
  { id: 'i-hot-1', name: 'hot-1', scope: 'vm', capacity: CAPACITY, util: (d) => (d >= 25 ? 0.8 : 0.5) },
  { id: 'i-warm-1', name: 'warm-1', scope: 'vm', capacity: CAPACITY, util: () => 0.62 },
  { id: 'i-steady-1', name: 'steady-1', scope: 'vm', capacity: CAPACITY, util: () => 0.2 },
  { id: 'i-falling-1', name: 'falling-1', scope: 'vm', capacity: CAPACITY, util: (d) => 0.65 - d * 0.0125 },
  { id: 'app -> data', name: 'app -> data', scope: 'segment_pair', capacity: null, util: () => 0.3 },
];

let lake: LakeFixture;
let report: CapacityReport;
let htmlFile: string;
let daily: DailyReportsResult;

beforeAll(async () => {
  lake = await createLakeFixture();
  const rows: Record<string, unknown>[] = [];
  for (let day = 0; day < DAYS; day++) {
    for (const hour of [3, 15]) {
      const hourAt = new Date(FIRST + day * 86_400_000 + hour * 3_600_000);
      for (const shape of shapes) {
        // The daily peak is the 15:00 hour; 03:00 runs at half of it.
        const utilization = shape.util(day) * (hour === 15 ? 1 : 0.5);
        const p95 = utilization * CAPACITY;
        rows.push({
          hour_at: hourAt, scope: shape.scope, entity_id: shape.id, vm_id: shape.scope === 'vm' ? shape.id : null, vm_name: shape.scope === 'vm' ? shape.name : null,
          src_segment: shape.scope === 'vm' ? 'db' : 'app', dst_segment: shape.scope === 'vm' ? null : 'data', capacity_mbps: shape.capacity,
          active_minutes: 60, bytes: Math.round((p95 * 1e6 * 3600) / 8), bytes_in: 0, bytes_out: 0, avg_mbps: p95 * 0.8, p95_mbps: p95, max_mbps: p95 * 1.2,
          peak_minute_at: hourAt, utilization: shape.capacity ? utilization : null,
          status: shape.capacity === null ? 'unknown' : utilization >= 0.7 ? 'critical' : utilization >= 0.6 ? 'warning' : 'ok', run_id: 'generated',
        });
      }
    }
  }
  await publishTableRows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, table: capacityHourlyTable, hourColumn: 'hour_at', rows });
  const context = { config: lake.config, baseDir: lake.dir, store: lake.store, ledger: runLedgerOf({ config: lake.config, baseDir: lake.dir }), logger: lake.logger };
  const result = await runReport(context, 'capacity', { from: new Date('2024-06-28T00:00:00Z'), to: new Date('2024-06-29T00:00:00Z') }, { outDir: path.join(lake.dir, 'out') });
  expect(result.error).toBeUndefined();
  report = JSON.parse(await readFile(path.join(lake.dir, 'out', 'capacity-2024-06-28.json'), 'utf8')) as CapacityReport;
  htmlFile = path.join(lake.dir, 'out', 'capacity-2024-06-28.html');
  daily = await runDailyReports(context, '2024-06-28');
}, 120_000);

afterAll(async () => {
  await lake?.cleanup();
});

const entity = (id: string) => report.entities.find((e) => e.entity_id === id)!;

describe('capacity report', () => {
  test('the at-risk list, soonest first, with projected dates', () => {
    expect(report.at_risk.map((e) => [e.entity_id, e.status, e.projection, e.projected_critical_date, e.days_to_critical])).toEqual([
      ['i-hot-1', 'critical', 'reached', '2024-06-26', -2],
      ['i-db-1', 'ok', 'projected', '2024-07-08', 10],
      ['i-warm-1', 'warning', 'none', null, null],
    ]);
    expect(entity('i-db-1').trend_slope_per_day).toBeCloseTo(1 / 64, 9);
    expect(entity('i-db-1').peak_utilization).toBeCloseTo(0.546875, 9);
  });

  test('steady, falling and unknown-capacity entities are not at risk; a link without capacity is unknown', () => {
    expect(entity('i-steady-1')).toMatchObject({ status: 'ok', at_risk: false, projection: 'none' });
    expect(entity('i-falling-1')).toMatchObject({ status: 'ok', at_risk: false, projection: 'none' });
    expect(entity('i-falling-1').trend_slope_per_day!).toBeLessThan(0);
    expect(entity('app -> data')).toMatchObject({ scope: 'segment_pair', status: 'unknown', peak_utilization: null, at_risk: false });
    expect(report.summary).toEqual({ vms: 5, segment_pairs: 1, critical: 1, warning: 1, at_risk: 3, unknown_capacity: 1 });
  });

  test('the trend reads four weeks back; the inputs are every capacity partition of that window', () => {
    expect(report.trend_window).toEqual({ from: '2024-06-01T00:00:00.000Z', to: '2024-06-29T00:00:00.000Z', weeks: 4 });
    expect(entity('i-db-1').daily).toHaveLength(DAYS);
    expect(entity('i-db-1').hourly.map((h) => [String(h.hour_at).slice(0, 13), h.status])).toEqual([['2024-06-28T03', 'ok'], ['2024-06-28T15', 'ok']]);
    expect(entity('i-hot-1').hourly.map((h) => h.status)).toEqual(['ok', 'critical']);
    expect(report.inputs).toHaveLength(DAYS * 2);
  });

  test('runDailyReports writes both reports of the day to a new generation folder of reports/<kind>/<date>/', () => {
    expect(daily.status).toBe('written');
    expect(daily.reports.map((r) => [r.kind, r.status, r.written?.prefix.replace(/[^/]+\/$/, '<generation>/'), r.written?.chain.seq])).toEqual([
      ['compliance', 'written', 'reports/compliance/2024-06-28/<generation>/', 1],
      // The second capacity report of the day: runReport wrote the first, and it is kept.
      ['capacity', 'written', 'reports/capacity/2024-06-28/<generation>/', 2],
    ]);
    expect(daily.reports[1]!.written!.files.map((f) => f.name)).toEqual(['capacity-2024-06-28.html', 'capacity-2024-06-28.json', 'capacity-2024-06-28-entities.csv', 'capacity-2024-06-28-at-risk.csv', 'capacity-2024-06-28-daily.csv', 'capacity-2024-06-28-hourly.csv', 'capacity-2024-06-28-inputs.csv']);
  });

  chromium.it('rendered in headless Chromium: charts drawn, at-risk numbers and dates on the page, names escaped', async () => {
    const html = await readFile(htmlFile, 'utf8');
    expect(html).toContain('&lt;b&gt;db-1&lt;/b&gt;');
    // Hourly and daily charts for the VMs; the only segment pair has no capacity, so its chart says there is no data.
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect(html).toContain('aria-label="Hourly utilization in the period');
    expect(html).toContain('segment pairs: no data');
    const { dom, png } = await renderInChromium(htmlFile);
    expect(dom).not.toMatch(/<b>db-1/);
    const stat = (id: string) => new RegExp(`id="${id}"><div class="value">([^<]*)</div>`).exec(dom)?.[1];
    expect([stat('vms'), stat('critical'), stat('warning'), stat('at-risk')]).toEqual(['5', '1', '1', '3']);
    const text = visibleText(dom);
    for (const needle of ['2024-07-08', '2024-06-26', '<b>db-1</b>', 'hot-1', 'warning 60 %', 'critical 70 %', '54.7 %']) expect(text).toContain(needle);
    const ink = inkStats(png);
    expect(ink.inked).toBeGreaterThan(0.03);
    expect(ink.colors).toBeGreaterThan(20);
    expect(ink.variance).toBeGreaterThan(100);
  });
});
