import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderCapacityHtml } from '../../lib/reports/capacity-html.ts';
import { buildCapacityReport, type CapacityReport } from '../../lib/reports/capacity-report.ts';
import { capacityHourlyTable } from '../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { checkLayout, chromium, visibleText } from './support/chromium.ts';
import { publishTableRows } from './support/publish-rows.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';

/**
 * Thirty days of capacity_hourly (03:00 and 15:00 each day, then every hour up to 11:00 of the
 * report day) with the shapes that broke the report: a nearly idle VM (3e-10 a day, which once
 * projected past Date's range), a flat one, a noisy one, one growing a point a day, one ramping
 * within the report day, and a nearly idle link. The VM ids are the sample inventory's, so owners
 * and SKUs come from it.
 */
const DAYS = 30;
const FIRST = Date.parse('2024-06-01T00:00:00Z');
const REPORT_DAY = new Date(FIRST + (DAYS - 1) * 86_400_000);
const CAPACITY = 1000;
const HORIZON_DAYS = 90;

/** Deterministic noise in [-1, 1]. */
const noise = (day: number, hour: number) => Math.sin(day * 12.9898 + hour * 78.233) * 0.5 + Math.cos(day * 4.1414) * 0.5;

const shapes: { id: string; scope: 'vm' | 'segment_pair'; util: (day: number, hour: number) => number }[] = [
  { id: 'i-0batch000000001', scope: 'vm', util: (d) => 1e-9 + d * 3e-10 },
  { id: 'i-0app00000000001', scope: 'vm', util: () => 0.3 },
  { id: 'i-0app00000000002', scope: 'vm', util: (d, h) => 0.3 + 0.15 * noise(d, h) },
  { id: 'i-0web00000000001', scope: 'vm', util: (d) => 0.1 + d * 0.01 },
  // Flat at 20 % for weeks; on the report day it climbs 4 points an hour from midnight.
  { id: 'i-0sql00000000001', scope: 'vm', util: (d, h) => (d === DAYS - 1 ? 0.1 + h * 0.04 : 0.2) },
  { id: 'web -> data', scope: 'segment_pair', util: (d) => 2e-9 + d * 1e-10 },
];

let lake: LakeFixture;
let report: CapacityReport;

beforeAll(async () => {
  lake = await createLakeFixture({ config: { analytics: { capacity: { horizon_days: HORIZON_DAYS } } } });
  const rows: Record<string, unknown>[] = [];
  for (let day = 0; day < DAYS; day++) {
    const hours = day === DAYS - 1 ? Array.from({ length: 12 }, (_, h) => h) : [3, 15];
    for (const hour of hours) {
      const hourAt = new Date(FIRST + day * 86_400_000 + hour * 3_600_000);
      for (const shape of shapes) {
        const utilization = shape.util(day, hour) * (hour === 3 && day < DAYS - 1 ? 0.5 : 1);
        const p95 = utilization * CAPACITY;
        rows.push({
          hour_at: hourAt, scope: shape.scope, entity_id: shape.id, vm_id: shape.scope === 'vm' ? shape.id : null, vm_name: shape.scope === 'vm' ? shape.id.replace('i-0', '') : null,
          src_segment: shape.scope === 'vm' ? 'app' : 'web', dst_segment: shape.scope === 'vm' ? null : 'data', capacity_mbps: CAPACITY,
          active_minutes: 60, bytes: Math.round((p95 * 1e6 * 3600) / 8), bytes_in: 0, bytes_out: 0, avg_mbps: p95 * 0.8, p95_mbps: p95, max_mbps: p95 * 1.2,
          peak_minute_at: hourAt, utilization, status: utilization >= 0.7 ? 'critical' : utilization >= 0.6 ? 'warning' : 'ok', run_id: 'generated',
        });
      }
    }
  }
  await publishTableRows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, table: capacityHourlyTable, hourColumn: 'hour_at', rows });
  const context = { config: lake.config, baseDir: lake.dir, store: lake.store, ledger: runLedgerOf({ config: lake.config, baseDir: lake.dir }), logger: lake.logger, now: () => new Date('2024-06-30T12:00:00Z') };
  report = await buildCapacityReport(context, { from: REPORT_DAY, to: new Date(REPORT_DAY.getTime() + 86_400_000) });
}, 180_000);

afterAll(async () => {
  await lake?.cleanup();
});

const entity = (id: string) => report.entities.find((e) => e.entity_id === id)!;

describe('capacity forecast over 30 days with idle, flat, noisy, growing and ramping entities', () => {
  test('every entity is reported; no projected date is invalid or past the horizon', () => {
    expect(report.entities.map((e) => e.entity_id).sort()).toEqual(shapes.map((s) => s.id).sort());
    const horizonEnd = REPORT_DAY.getTime() + HORIZON_DAYS * 86_400_000;
    for (const e of report.entities) {
      if (e.projected_critical_date === null) continue;
      const date = Date.parse(`${e.projected_critical_date}T00:00:00Z`);
      expect(Number.isFinite(date), e.entity_id).toBe(true);
      expect(date, e.entity_id).toBeLessThanOrEqual(horizonEnd);
    }
  });

  test.each([
    { case: 'nearly idle VM', id: 'i-0batch000000001' },
    { case: 'flat VM', id: 'i-0app00000000001' },
    { case: 'noisy VM', id: 'i-0app00000000002' },
    { case: 'nearly idle link', id: 'web -> data' },
  ])('$case: no significant trend, stated, no date, not at risk', ({ id }) => {
    expect(entity(id)).toMatchObject({ projection: 'none', projection_note: 'no significant trend', projected_critical_date: null, days_to_critical: null, at_risk: false, short_term_critical_at: null });
  });

  test('the growing VM is at risk with its projected date, owner, SKU and an action', () => {
    // 0.1 + d/100 reaches 39 % on day 29, and 70 % 31 days later.
    expect(entity('i-0web00000000001')).toMatchObject({ projection: 'projected', projected_critical_date: '2024-07-31', days_to_critical: 31, at_risk: true, owner: 'storefront', sku: 'm5.large' });
    expect(entity('i-0web00000000001').trend_slope_lower_per_day!).toBeGreaterThan(0);
    expect(entity('i-0web00000000001').recommended_action).toBe('resize web00000000001 to a larger size than m5.large or spread its load over more VMs, within 31 day(s) (owner: storefront)');
  });

  test('a ramp within the report day is forecast from the hourly data, to the hour', () => {
    // 10 % at midnight, +4 points an hour: 54 % at 11:00, 70 % at 15:00.
    expect(entity('i-0sql00000000001')).toMatchObject({ short_term_critical_at: '2024-06-30T15:00Z', at_risk: true, owner: 'data', sku: 'r5.2xlarge' });
    expect(report.at_risk.map((e) => e.entity_id)).toEqual(['i-0sql00000000001', 'i-0web00000000001']);
  });

  chromium.it('laid out in Chromium: a log axis down to the idle VM with distinct labels, the at-risk rows whole, a screenshot kept', async () => {
    const file = path.join(lake.dir, 'capacity-forecast.html');
    await writeFile(file, renderCapacityHtml(report));
    const layout = await checkLayout(file, 'capacity-forecast');
    expect(layout.brokenWords).toEqual([]);
    const daily = layout.axes.find((axis) => axis.chart.startsWith('Daily peak utilization'))!;
    // Utilization from 1e-9 to 54 %: a linear axis would put five of six VMs on zero.
    expect(daily.ticks.length).toBeGreaterThanOrEqual(4);
    expect(new Set(daily.ticks).size).toBe(daily.ticks.length);
    const text = visibleText(layout.dom);
    expect(text).toContain('(log scale)');
    for (const needle of ['2024-07-31', '2024-06-30T15:00Z', 'storefront', 'm5.large', 'no significant trend', 'resize web00000000001 to a larger size than m5.large']) expect(text).toContain(needle);
  });
});
