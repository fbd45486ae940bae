import type { ComplianceReport } from './compliance-report.ts';
import { badge, banner, escapeHtml, page, section, stats, table, type Cell } from './html.ts';
import { formatBytes } from '../format/format-bytes.ts';
import { barChart, heatMap, hourStrip, lineChart } from './svg-charts.ts';

const STATUS_COLORS: Record<string, string> = { published: '#2f855a', late: '#d69e2e', failed: '#c53030', missing: '#4a5568', pending: '#cbd5e0' };
const STATUS_TONE = { published: 'ok', late: 'warn', failed: 'bad', missing: 'bad', pending: 'info' } as const;
const RESULT_TONE = { pass: 'ok', fail: 'bad', no_data: 'warn', not_assessed: 'warn' } as const;
const RESULT_TEXT = { pass: 'pass', fail: 'fail', no_data: 'no data', not_assessed: 'not assessed' } as const;

/** The compliance audit as one self-contained HTML page. */
export function renderComplianceHtml(report: ComplianceReport): string {
  const s = report.summary;
  const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(2)} %`);
  const overview = stats([
    { label: 'hours expected', value: s.hours_expected, id: 'hours-expected' },
    { label: 'hours published', value: s.hours_published, tone: 'ok', id: 'hours-published' },
    { label: 'published late', value: s.hours_late, tone: s.hours_late ? 'warn' : 'ok', id: 'hours-late' },
    { label: 'hours failed', value: s.hours_failed, tone: s.hours_failed ? 'bad' : 'ok', id: 'hours-failed' },
    { label: 'hours missing', value: s.hours_missing, tone: s.hours_missing ? 'bad' : 'ok', id: 'hours-missing' },
    { label: 'connections', value: s.flows, id: 'flows' },
    { label: 'violations', value: s.violations, tone: s.violations ? 'bad' : 'ok', id: 'violations' },
    { label: 'conformance', value: pct(s.conformance_rate), id: 'conformance' },
    { label: 'alerts', value: s.alerts, id: 'alerts' },
    { label: 'anomalies', value: s.anomalies, id: 'anomalies' },
  ]);
  const gaps = report.coverage.filter((hour) => hour.status !== 'published');
  const coverage =
    hourStrip({ title: 'Hours of the period by publication status', cells: report.coverage.map((h) => ({ hour: new Date(`${h.hour}:00:00Z`), status: h.status })), colors: STATUS_COLORS }) +
    table(
      ['hour', 'status', 'attempts', 'failed', 'first published', 'in ledger', 'flows', 'run id', 'last error'],
      report.coverage.map((h) => [h.hour, badge(h.status, STATUS_TONE[h.status]), h.attempts, h.failed_attempts, h.first_published_at, h.in_ledger ? 'yes' : h.attempts === 0 && h.flows === null ? '' : badge('no', 'bad'), h.flows, h.run_id, h.last_error]),
      { numeric: [2, 3, 6], id: 'coverage-table' },
    );
  const versions =
    `<p>Rules file in force now: <code>${escapeHtml(report.rules_in_force.current.file)}</code>, version ${escapeHtml(report.rules_in_force.current.version ?? '(no label)')}, ` +
    `<code>sha256:${escapeHtml(report.rules_in_force.current.sha256)}</code>, ${report.rules_in_force.current.rules} rule(s).</p>` +
    table(
      ['rules hash', 'rules label', 'reference hash', 'hours', 'first hour', 'last hour'],
      report.rules_in_force.observed.map((v) => [v.rules_hash ? `sha256:${v.rules_hash}` : '(not in ledger)', v.rules_version, v.reference_hash ? `sha256:${v.reference_hash}` : null, v.hours, v.first_hour, v.last_hour]),
      { numeric: [3], empty: 'no published hour in the period' },
    );
  const rules = table(
    ['rule', 'result', 'kind', 'severity', 'owner', 'evaluated', 'conformant', 'violating', 'excused', 'alerts', 'description'],
    report.rules.map((r) => [r.rule_id, badge(RESULT_TEXT[r.status], RESULT_TONE[r.status]), r.kind, badge(r.severity, r.severity === 'low' ? 'info' : r.severity === 'medium' ? 'warn' : 'bad'), r.owner, r.evaluated, r.conformant, r.violating, r.excused, r.alerts, r.description]),
    { numeric: [5, 6, 7, 8, 9], id: 'rules-table' },
  );
  const net = report.network;
  const pairTotals = new Map<string, number>();
  for (const p of net.pairs_over_time) pairTotals.set(p.pair, (pairTotals.get(p.pair) ?? 0) + p.bytes);
  const topPairs = [...pairTotals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 8).map(([pair]) => pair);
  const hourX = (value: Date | string) => new Date(value).getTime();
  const overTime = (metric: 'bytes' | 'flows') =>
    lineChart({
      title: `${metric === 'bytes' ? 'Bytes' : 'Flows'} per hour by segment pair (top ${topPairs.length} by bytes)`,
      series: topPairs.map((pair) => ({ name: pair, points: net.pairs_over_time.filter((p) => p.pair === pair).map((p) => ({ x: hourX(p.hour_at), y: p[metric] })) })),
      xFormat: (x) => new Date(x).toISOString().slice(5, 13).replace('T', ' '),
      yFormat: metric === 'bytes' ? formatBytes : (y) => (Number.isInteger(y) ? String(y) : y.toPrecision(2)),
    });
  const segments = [...new Set(net.matrix.flatMap((m) => [m.src_group, m.dst_group]))].sort();
  const network =
    overTime('bytes') +
    overTime('flows') +
    heatMap({
      title: 'Segment-to-segment traffic (bytes)',
      rows: [...new Set(net.matrix.map((m) => m.src_group))].sort(),
      columns: segments.filter((segment) => net.matrix.some((m) => m.dst_group === segment)),
      value: (row, column) => net.matrix.find((m) => m.src_group === row && m.dst_group === column)?.bytes ?? 0,
      format: formatBytes,
    }) +
    barChart({ title: `Top talkers by bytes sent`, bars: net.top_talkers.map((t) => ({ label: `${t.src_ip}${t.vm_name ? ` (${t.vm_name})` : ''}`, value: t.bytes })), format: formatBytes }) +
    barChart({ title: 'Rejected traffic by destination port (flows)', bars: net.rejected_by_port.map((r) => ({ label: `${r.protocol === 6 ? 'tcp' : r.protocol === 17 ? 'udp' : `proto ${r.protocol}`}/${r.dst_port ?? '-'}`, value: r.flows })), format: (v) => `${v} flow(s)` }) +
    table(
      ['source', 'VM', 'segment', 'bytes', 'flows'],
      net.top_talkers.map((t) => [t.src_ip, t.vm_name, t.segment, t.bytes, t.flows]),
      { numeric: [3, 4], id: 'talkers-table', empty: 'no flows in the period' },
    );
  const controls = report.controls
    ? `<p>Control mapping <code>${escapeHtml(report.controls.file)}</code>${report.controls.version ? `, version ${escapeHtml(report.controls.version)}` : ''}, <code>sha256:${escapeHtml(report.controls.sha256)}</code>.</p>` +
      table(
        ['framework', 'control', 'title', 'result', 'rules', 'failing rules'],
        report.controls.assessments.map((c) => [c.framework, c.control_id, c.title, badge(RESULT_TEXT[c.status], RESULT_TONE[c.status]), c.rules.join(', '), [...c.failing_rules, ...c.unknown_rules.map((id) => `${id} (not in the rules file)`)].join(', ')]),
        { id: 'controls-table', empty: 'the mapping lists no control' },
      )
    : '<p class="empty">No control mapping configured (reports.controls): rules are passed and failed above, controls are not assessed.</p>';
  const buckets = [...new Set(report.trend.map((t) => t.bucket))].sort();
  const ruleIds = [...new Set(report.trend.map((t) => t.rule_id))];
  const trendChart = lineChart({
    title: `Violations per ${report.trend[0]?.bucket_kind ?? 'hour'} and rule`,
    series: ruleIds.map((rule) => ({ name: rule, points: report.trend.filter((t) => t.rule_id === rule).map((t) => ({ x: buckets.indexOf(t.bucket), y: t.violating })) })),
    xFormat: (x) => buckets[Math.round(x)]?.slice(report.trend[0]?.bucket_kind === 'day' ? 5 : 8) ?? '',
    yFormat: (y) => (Number.isInteger(y) ? String(y) : y.toFixed(1)),
  });
  const offenders = table(
    ['source', 'VM', 'segment', 'tags', 'violations', 'rules', 'bytes', 'first seen', 'last seen'],
    report.top_offenders.map((o) => [o.src_ip, o.vm_name, o.segment, o.tags.join(', '), o.violations, o.rules.join(', '), o.bytes, o.first_seen_at, o.last_seen_at]),
    { numeric: [4, 6], id: 'offenders-table', empty: 'no violations in the period' },
  );
  const evidence = table(
    ['rule', 'flow id', 'start', 'source', 'destination', 'proto', 'action', 'bytes', 'raw object (line)', 'run'],
    report.evidence.map((e) => [e.rule_id, e.flow_id, e.start_at, `${e.src_ip}${e.src_vm_name ? ` (${e.src_vm_name})` : ''}`, `${e.dst_ip}:${e.dst_port ?? '-'}${e.dst_vm_name ? ` (${e.dst_vm_name})` : ''}`, e.protocol, e.action, e.bytes, `${e.raw_object_key} (${e.raw_offset})`, e.run_id]),
    { numeric: [5, 7], id: 'evidence-table', empty: 'no violations in the period' },
  );
  const anomalies =
    table(['kind', 'severity', 'count'], report.anomalies.by_kind.map((a) => [a.kind, a.severity, a.count]), { numeric: [2], empty: 'no anomalies published for the period' }) +
    `<p id="anomalies-shown">Showing the top ${report.anomalies.shown} of ${report.anomalies.total} anomalies, most severe first; the JSON and the anomalies CSV list all ${report.anomalies.total}.</p>` +
    table(
      ['hour', 'kind', 'severity', 'subject', 'hosts', 'ports', 'observed', 'baseline', 'score'],
      report.anomalies.top.map((a) => [a.hour_at, a.kind, a.severity, a.subject, a.distinct_hosts, a.distinct_ports, a.observed, a.baseline, a.score]),
      { numeric: [4, 5, 6, 7, 8], empty: 'none' },
    );
  const segmentation =
    table(
      ['recommended rule', 'destination', 'from', 'risk', 'risk reasons', 'support and why', 'flows', 'bytes'],
      [
        ...report.segmentation.recommendations.map((r) => [r.rule.id, `${r.dst_segment} ${r.rule.protocol}/${r.dst_ports.join(',')}`, r.sources.join(', '), r.risk, r.risk_reasons.join('; '), r.why, r.flows, r.bytes]),
        ...report.segmentation.default_denies.map((d) => [d.rule.id, `${d.dst_segment} ${d.rule.protocol}`, 'any', null, null, d.why, null, null]),
      ],
      { numeric: [3, 6, 7], empty: 'every cross-segment flow of the period is covered by an allow rule' },
    ) +
    (report.segmentation.recommendations.length ? `<p>Ready to paste under <code>rules:</code> in the rules file:</p><pre>${escapeHtml(report.segmentation.yaml)}</pre>` : '') +
    (report.segmentation.skipped.length ? table(['destination', 'port', 'not recommended because'], report.segmentation.skipped.map((k) => [k.dst_segment, k.dst_port, k.reason])) : '');
  const inputs = table(
    ['table', 'partition', 'object key', 'sha256', 'rows', 'bytes', 'run id'],
    report.inputs.map((i): Cell[] => [i.table, `${i.dt}T${i.hour}`, i.key, { html: `<code>${escapeHtml(i.sha256)}</code>` }, i.rows, i.bytes, i.run_id]),
    { numeric: [4, 5], id: 'inputs-table', empty: 'no partition published in the period' },
  );
  return page({
    title: `Compliance audit ${report.period.from.slice(0, 13)} – ${report.period.to.slice(0, 13)} (UTC)`,
    subtitle: `Generated ${report.generated_at}. Hours are event hours; the period ends before ${report.period.to}.`,
    body: [
      ...(report.completeness.message ? [banner('completeness', report.completeness.message, report.completeness.status === 'empty' ? 'bad' : 'warn')] : []),
      section('summary', 'Summary', overview),
      section('controls', 'Controls', controls, 'A control fails when any rule mapped to it has a violation in the period, and passes when none has.'),
      section('coverage', 'Coverage', coverage, `${gaps.length} of ${report.coverage.length} hour(s) are not published on time. Late: first published after its hour + 1 h + lateness + the configured grace. Failed: attempts failed and nothing is published. Missing: no attempt at all.`),
      section('versions', 'Rules and reference data in force', versions),
      section('rules', 'Per rule', rules, 'Evaluated and conformant: the current rules file re-evaluated over the published flows of the period. Violating: as published by the runs, with the rules version each run recorded.'),
      section('trend', 'Trend', trendChart),
      section('network', 'Network', network, 'Traffic of the period as the traffic matrix counts it (each connection once): per segment pair over time, the segment matrix, the top talkers and what was rejected. Axes are logarithmic where values span orders of magnitude.'),
      section('offenders', 'Top offenders', offenders),
      section('evidence', 'Evidence samples', evidence, 'The earliest violating flows of each rule; the raw object and line let anyone find the original record.'),
      section('anomalies', 'Anomalies (no rule wrote these)', anomalies),
      section('segmentation', 'Segmentation recommendations', segmentation, 'Cross-segment traffic no allow rule covers, ranked by risk then volume.'),
      section('manifest', 'Input manifest', inputs, 'Every partition file this report read, with its SHA-256: hash the object at each key to verify the report against the lake.'),
    ].join('\n'),
  });
}
