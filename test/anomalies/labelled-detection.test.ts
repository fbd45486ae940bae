import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHourlyAnalytics, type HourlyAnalyticsResult } from '../../jobs/hourly-analytics.ts';
import type { AlertPayload } from '../../lib/alerts/alert-payload.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { queryLake } from '../support/read-lake.ts';
import { buildComplianceReport } from '../../lib/reports/compliance-report.ts';
import { publishGeneratedFlows } from './support/flow-lake.ts';
import { generateLabelledTraffic, type InjectedEvent, type LabelledTraffic } from './support/labelled-traffic.ts';

/**
 * The detectors on 8 days of generated background traffic with 12 labelled anomalies injected on
 * the last day (3 of each kind). A detection is a distinct (kind, source, hour); it is correct when
 * an injected event of that hour explains it (same source, or the event's segment pair). Recall
 * counts events found by a detection of their own kind.
 */
type Detection = {
  kind: string;
  hour: string;
  subject: string;
  src_ip: string | null;
  severity: string;
};

let lake: LakeFixture;
let traffic: LabelledTraffic;
let run: HourlyAnalyticsResult;
let detections: Detection[];
const delivered: AlertPayload[] = [];

beforeAll(async () => {
  // Seven same-hour points for the volume baseline (the default is 14) keep the generated history at 8 days.
  lake = await createLakeFixture({ config: { analytics: { volume: { baseline_days: 7 } } } });
  traffic = generateLabelledTraffic();
  await publishGeneratedFlows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, flows: traffic.flows });
  run = await runHourlyAnalytics({
    config: lake.config,
    baseDir: lake.dir,
    store: lake.store,
    logger: lake.logger,
    from: traffic.evalDay,
    to: new Date(traffic.evalDay.getTime() + 86_400_000),
    alertSinks: [{ name: 'soc', minSeverity: 'high', deliver: async (alerts) => (delivered.push(...alerts), { delivered: alerts.map((a) => a.alert_id), failed: [] }) }],
  });
  detections = await queryLake<Detection>(
    lake,
    `SELECT DISTINCT kind, strftime(hour_at, '%Y-%m-%dT%H') AS hour, CASE WHEN src_ip IS NULL THEN subject ELSE '' END AS subject, src_ip, severity
     FROM anomalies ORDER BY hour, kind`,
  );
}, 240_000);

afterAll(async () => {
  await lake?.cleanup();
});

function explains(event: InjectedEvent, detection: Detection): boolean {
  return event.hour === detection.hour && (detection.src_ip === event.src_ip || (detection.src_ip === null && detection.subject === event.pair));
}

describe('anomaly detection on labelled traffic', () => {
  test('publishes anomalies and capacity for every hour of the labelled day', () => {
    expect(run.error).toBeUndefined();
    expect(run.hours).toHaveLength(24);
    expect(run.hours.every((hour) => hour.status === 'published')).toBe(true);
    expect(run.hours.every((hour) => hour.capacityRows > 0)).toBe(true);
  });

  test('precision and recall are at least 0.9', async ({ annotate }) => {
    const grouped = new Map<string, Detection>();
    for (const detection of detections) grouped.set(`${detection.kind}|${detection.src_ip ?? detection.subject}|${detection.hour}`, detection);
    const all = [...grouped.values()];
    const correct = all.filter((detection) => traffic.events.some((event) => explains(event, detection)));
    const found = traffic.events.filter((event) => all.some((detection) => detection.kind === event.kind && explains(event, detection)));
    const precision = correct.length / Math.max(all.length, 1);
    const recall = found.length / traffic.events.length;
    const perKind = Object.fromEntries(
      ['fan_out', 'port_scan', 'new_talker', 'volume_spike'].map((kind) => [
        kind,
        {
          events: traffic.events.filter((event) => event.kind === kind).length,
          found: found.filter((event) => event.kind === kind).length,
          detections: all.filter((detection) => detection.kind === kind).length,
          unexplained: all.filter((detection) => detection.kind === kind && !correct.includes(detection)).length,
        },
      ]),
    );
    const summary = { flows: traffic.flows.length, events: traffic.events.length, detections: all.length, precision, recall, perKind };
    await annotate(`precision ${precision.toFixed(3)} recall ${recall.toFixed(3)} ${JSON.stringify(perKind)}`);
    if (process.env.NETFLOW_METRICS_FILE) await appendFile(process.env.NETFLOW_METRICS_FILE, `${JSON.stringify({ test: 'labelled-detection', ...summary })}\n`);
    const missed = traffic.events.filter((event) => !found.includes(event)).map((event) => event.description);
    const unexplained = all.filter((detection) => !correct.includes(detection));
    expect({ missed, unexplained: unexplained.slice(0, 10) }).toEqual({ missed: [], unexplained: expect.any(Array) });
    expect(precision).toBeGreaterThanOrEqual(0.9);
    expect(recall).toBeGreaterThanOrEqual(0.9);
  });

  test('anomalies of a sink\'s severity are delivered to it, with a delivery state apart from rule alerts', async () => {
    const high = run.alerts.filter((alert) => alert.severity === 'high');
    expect(high.length).toBeGreaterThan(0);
    expect(delivered.map((alert) => alert.alert_id).sort()).toEqual(high.map((alert) => `anomaly-${alert.anomaly_id}`).sort());
    expect(delivered.every((alert) => alert.rule_id.startsWith('anomaly:') && alert.rule_kind === 'anomaly')).toBe(true);
    const scan = delivered.find((alert) => alert.rule_id === 'anomaly:port_scan' && alert.src_ip === '45.95.147.10')!;
    expect(scan).toMatchObject({ dst_ip: '10.0.1.12', severity: 'high', hour: scan.hour });
    expect(await lake.store.getBytes(`alerts/_delivery/soc/anomalies/delivered/dt=${scan.hour.slice(0, 10)}/hour=${scan.hour.slice(11, 13)}.json`)).toBeTruthy();
    expect(await lake.store.getBytes(`alerts/_delivery/soc/delivered/dt=${scan.hour.slice(0, 10)}/hour=${scan.hour.slice(11, 13)}.json`)).toBeUndefined();
  });

  test('the hard negatives stay quiet: monitoring sweeps, the nightly backup, web responses', () => {
    expect(detections.filter((detection) => detection.src_ip === '10.0.9.10')).toEqual([]);
    expect(detections.filter((detection) => detection.hour.endsWith('T02') && detection.kind === 'volume_spike')).toEqual([]);
    expect(detections.filter((detection) => detection.kind === 'fan_out' && detection.src_ip?.startsWith('10.0.1.'))).toEqual([]);
  });

  test('every anomaly carries its evidence: window, counts, baseline and samples', async () => {
    const rows = await queryLake<Record<string, unknown>>(lake, `SELECT * FROM anomalies`);
    for (const row of rows) {
      const evidence = JSON.parse(String(row.evidence)) as Record<string, unknown>;
      expect((row.window_end_at as Date).getTime()).toBeGreaterThan((row.window_start_at as Date).getTime());
      expect(row.thresholds_version).toBe(run.thresholdsVersion);
      expect((row.sample_flow_ids as string[]).length).toBeGreaterThan(0);
      if (row.kind === 'fan_out') expect(evidence).toMatchObject({ window_minutes: 5, distinct_destinations: row.observed, baseline_p95: row.baseline, sample_destinations: expect.any(Array) });
      if (row.kind === 'port_scan') expect(evidence).toMatchObject({ window_minutes: 5, distinct_ports: row.observed, sample_ports: expect.any(Array) });
      if (row.kind === 'new_talker') expect(evidence).toMatchObject({ lookback_days: 7, history_hours: expect.any(Number) });
      if (row.kind === 'volume_spike') {
        expect(evidence).toMatchObject({ median: row.baseline, robust_z: row.score, same_hour_points: expect.any(Array) });
        expect((evidence.same_hour_points as number[]).length).toBeGreaterThanOrEqual(5);
      }
    }
    const scan = rows.find((row) => row.kind === 'port_scan' && row.src_ip === '45.95.147.10')!;
    expect(scan).toMatchObject({ dst_ip: '10.0.1.12', observed: 200, severity: 'high' });
  });

  test('a compliance report over the last three days: daily trend, the anomalies, and publishes the ledger does not know flagged', async () => {
    const to = new Date(traffic.evalDay.getTime() + 86_400_000);
    const report = await buildComplianceReport({ config: lake.config, baseDir: lake.dir, store: lake.store, ledger: runLedgerOf({ config: lake.config, baseDir: lake.dir }), logger: lake.logger }, { from: new Date(to.getTime() - 3 * 86_400_000), to });
    expect(report.summary).toMatchObject({ hours_expected: 72, hours_published: 72, hours_failed: 0, hours_missing: 0 });
    // Generated partitions were never run by the hourly job: the audit says the ledger does not know them.
    expect(report.coverage.every((hour) => !hour.in_ledger && hour.attempts === 0)).toBe(true);
    expect(new Set(report.trend.map((t) => t.bucket_kind))).toEqual(new Set(['day']));
    expect([...new Set(report.trend.map((t) => t.bucket))]).toHaveLength(3);
    expect(report.summary.anomalies).toBe((await queryLake<{ n: bigint }>(lake, `SELECT count(*) AS n FROM anomalies`)).map((row) => Number(row.n))[0]);
    expect(report.anomalies.top.length).toBeGreaterThan(0);
    expect(report.inputs.filter((input) => input.table === 'flows')).toHaveLength(72);
  });
});
