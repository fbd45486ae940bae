import type { CapacityReport } from './capacity-report.ts';
import { badge, page, section, stats, table } from './html.ts';
import { lineChart } from './svg-charts.ts';

const TONE = { ok: 'ok', warning: 'warn', critical: 'bad', unknown: 'info' } as const;
/** Axis labels that stay distinct on a log scale down to idle entities (0.0001 %). */
const axisPct = (y: number) => (y >= 0.01 || y === 0 ? `${Math.round(y * 100)} %` : `${Number((y * 100).toPrecision(1))} %`);
const pct = (value: number | null) => (value === null ? 'n/a' : value > 0 && value < 0.001 ? '< 0.1 %' : `${(value * 100).toFixed(1)} %`);

/** A significant slope in percentage points a day, or why there is none. */
function trendText(e: CapacityReport['entities'][number]): string | null {
  if (e.projection === 'projected' || e.projection === 'reached') return e.trend_slope_per_day === null ? null : `${(e.trend_slope_per_day * 100).toFixed(2)} pp`;
  return e.projection_note;
}

/** The capacity report as one self-contained HTML page. */
export function renderCapacityHtml(report: CapacityReport): string {
  const s = report.summary;
  const t = report.thresholds;
  const overview = stats([
    { label: 'VMs', value: s.vms, id: 'vms' },
    { label: 'segment pairs', value: s.segment_pairs, id: 'pairs' },
    { label: 'critical', value: s.critical, tone: s.critical ? 'bad' : 'ok', id: 'critical' },
    { label: 'warning', value: s.warning, tone: s.warning ? 'warn' : 'ok', id: 'warning' },
    { label: 'at risk', value: s.at_risk, tone: s.at_risk ? 'warn' : 'ok', id: 'at-risk' },
    { label: 'capacity unknown', value: s.unknown_capacity, tone: s.unknown_capacity ? 'warn' : 'ok', id: 'unknown' },
  ]);
  const atRisk = table(
    ['VM or link', 'owner', 'SKU', 'peak utilization', 'status', 'trend / day', 'projected critical', 'in days', 'why', 'recommended action'],
    report.at_risk.map((e) => [e.name, e.owner, e.sku, pct(e.peak_utilization), badge(e.status, TONE[e.status]), trendText(e), e.short_term_critical_at ?? e.projected_critical_date, e.days_to_critical, e.risk_reason, e.recommended_action]),
    { numeric: [3, 7], id: 'at-risk-table', empty: 'nothing is at risk' },
  );
  const charts = (['vm', 'segment_pair'] as const)
    .map((scope) => {
      const top = report.entities.filter((e) => e.scope === scope && e.peak_utilization !== null).slice(0, 8);
      return lineChart({
        title: `Daily peak utilization (p95 of the busiest hour / capacity), ${scope === 'vm' ? 'VMs' : 'segment pairs'}`,
        series: top.map((e) => ({ name: e.name, points: e.daily.filter((d) => d.peak_utilization !== null).map((d) => ({ x: Date.parse(`${d.day}T00:00:00Z`), y: d.peak_utilization! })) })),
        thresholds: [
          { y: t.warning, label: `warning ${Math.round(t.warning * 100)} %`, color: '#b7791f' },
          { y: t.critical, label: `critical ${Math.round(t.critical * 100)} %`, color: '#c53030' },
        ],
        xFormat: (x) => new Date(x).toISOString().slice(5, 10),
        yFormat: axisPct,
        yMax: Math.max(1, ...top.map((e) => e.peak_utilization ?? 0)),
      });
    })
    .join('');
  const vmsByPeak = report.entities.filter((e) => e.scope === 'vm' && e.peak_utilization !== null).slice(0, 8);
  const hourlyChart = lineChart({
    title: 'Hourly utilization in the period (p95 of the per-minute throughput / capacity), busiest VMs',
    series: vmsByPeak.map((e) => ({ name: e.name, points: e.hourly.filter((h) => h.utilization !== null).map((h) => ({ x: new Date(h.hour_at).getTime(), y: h.utilization! })) })),
    thresholds: [
      { y: t.warning, label: `warning ${Math.round(t.warning * 100)} %`, color: '#b7791f' },
      { y: t.critical, label: `critical ${Math.round(t.critical * 100)} %`, color: '#c53030' },
    ],
    xFormat: (x) => new Date(x).toISOString().slice(5, 13).replace('T', ' '),
    yFormat: axisPct,
    yMax: Math.max(1, ...vmsByPeak.map((e) => e.peak_utilization ?? 0)),
  });
  const all = table(
    ['VM or link', 'scope', 'segment', 'capacity Mbps', 'peak p95 Mbps', 'peak max Mbps', 'peak utilization', 'busiest hour', 'hours', 'warning h', 'critical h', 'status', 'trend'],
    report.entities.map((e) => [e.name, e.scope, e.segment, e.capacity_mbps, e.peak_p95_mbps, e.peak_max_mbps, pct(e.peak_utilization), e.peak_hour_at, e.hours, e.hours_warning, e.hours_critical, badge(e.status, TONE[e.status]), trendText(e)]),
    { numeric: [3, 4, 5, 6, 8, 9, 10], id: 'entities-table', empty: 'no capacity_hourly rows in the period' },
  );
  const inputs = table(
    ['table', 'partition', 'object key', 'sha256', 'rows'],
    report.inputs.map((i) => [i.table, `${i.dt}T${i.hour}`, i.key, { html: `<code>${i.sha256}</code>` }, i.rows]),
    { numeric: [4], empty: 'no partition in the window' },
  );
  return page({
    title: `Capacity ${report.period.from.slice(0, 13)} – ${report.period.to.slice(0, 13)} (UTC)`,
    subtitle: `Generated ${report.generated_at}. Utilization = p95 of the per-minute throughput of an hour / capacity; warning ${pct(t.warning)}, critical ${pct(t.critical)}; trend over ${report.trend_window.weeks} week(s) from ${report.trend_window.from.slice(0, 10)}.`,
    body: [
      section('summary', 'Summary', overview),
      section('at-risk', 'At risk', atRisk, `Critical or warning in the period, or projected to reach ${pct(t.critical)} within ${t.horizon_days} days by a significant rise of the daily peaks (the slope's 95 % lower bound above zero), or within ${t.short_term_horizon_hours} hours by the trailing hours; soonest first. Flat or noisy trends get no date.`),
      section('charts', 'Utilization', hourlyChart + charts),
      section('entities', 'Every VM and segment pair', all),
      section('manifest', 'Input manifest', inputs, 'The capacity_hourly partitions read, with their SHA-256.'),
    ].join('\n'),
  });
}
