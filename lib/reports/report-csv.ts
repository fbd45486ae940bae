import { csvCell } from '../format/text-cells.ts';
import type { CapacityReport } from './capacity-report.ts';
import type { ComplianceReport } from './compliance-report.ts';

/** One CSV per report section; every cell goes through csvCell, so a value starting with =, +, -, @ never runs as a formula. */
export function toCsv(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const text = (value: unknown): string => {
    if (value === null || value === undefined) return '';
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map(text).join(';');
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  };
  return `${[columns.map((c) => csvCell(c)).join(','), ...rows.map((row) => columns.map((c) => csvCell(text(row[c]))).join(','))].join('\r\n')}\r\n`;
}

export function complianceCsv(report: ComplianceReport): Record<string, string> {
  const cols = <T extends object>(rows: readonly T[], fallback: string[]) => (rows[0] ? Object.keys(rows[0]) : fallback);
  return {
    summary: toCsv(Object.entries({ period_from: report.period.from, period_to: report.period.to, completeness: report.completeness.status, completeness_note: report.completeness.message, ...report.summary, rules_sha256: report.rules_in_force.current.sha256 }).map(([key, value]) => ({ key, value })), ['key', 'value']),
    coverage: toCsv(report.coverage as unknown as Record<string, unknown>[], cols(report.coverage, ['hour', 'status'])),
    rules: toCsv(report.rules as unknown as Record<string, unknown>[], cols(report.rules, ['rule_id'])),
    trend: toCsv(report.trend, ['bucket', 'bucket_kind', 'rule_id', 'violating', 'flows']),
    offenders: toCsv(report.top_offenders, ['src_ip', 'vm_name', 'segment', 'tags', 'violations', 'rules', 'bytes', 'first_seen_at', 'last_seen_at']),
    evidence: toCsv(report.evidence, ['rule_id', 'flow_id', 'start_at', 'source_type', 'src_ip', 'src_vm_name', 'src_port', 'dst_ip', 'dst_vm_name', 'dst_port', 'protocol', 'action', 'bytes', 'raw_object_key', 'raw_offset', 'run_id', 'rules_version']),
    // Every anomaly of the period, not only the ones shown on the page.
    anomalies: toCsv(report.anomalies.all as unknown as Record<string, unknown>[], ['anomaly_id', 'hour_at', 'kind', 'severity', 'subject', 'src_ip', 'dst_ip', 'observed', 'baseline', 'score', 'distinct_hosts', 'distinct_ports', 'first_seen_at', 'last_seen_at', 'evidence']),
    controls: toCsv((report.controls?.assessments ?? []) as unknown as Record<string, unknown>[], ['framework_id', 'framework', 'control_id', 'title', 'status', 'rules', 'failing_rules', 'unknown_rules']),
    recommendations: toCsv(
      report.segmentation.recommendations.map((r) => ({ rule_id: r.rule.id, dst_segment: r.dst_segment, protocol: r.rule.protocol, dst_port: r.dst_ports, sources: r.sources, risk: r.risk, risk_reasons: r.risk_reasons, flows: r.flows, hours: r.hours, bytes: r.bytes, uncovered_flows: r.uncovered_flows, why: r.why })),
      ['rule_id', 'dst_segment', 'protocol', 'dst_port', 'sources', 'risk', 'risk_reasons', 'flows', 'hours', 'bytes', 'uncovered_flows', 'why'],
    ),
    inputs: toCsv(report.inputs as unknown as Record<string, unknown>[], ['table', 'dt', 'hour', 'key', 'sha256', 'rows', 'bytes', 'run_id', 'attempt_id', 'committed_at']),
  };
}

export function capacityCsv(report: CapacityReport): Record<string, string> {
  const entityColumns = ['scope', 'entity_id', 'name', 'segment', 'capacity_mbps', 'peak_utilization', 'peak_p95_mbps', 'peak_max_mbps', 'peak_hour_at', 'hours', 'hours_warning', 'hours_critical', 'status', 'trend_slope_per_day', 'trend_slope_lower_per_day', 'projection', 'projection_note', 'projected_critical_date', 'days_to_critical', 'short_term_critical_at', 'at_risk', 'risk_reason', 'owner', 'sku', 'recommended_action'];
  return {
    entities: toCsv(report.entities as unknown as Record<string, unknown>[], entityColumns),
    'at-risk': toCsv(report.at_risk as unknown as Record<string, unknown>[], entityColumns),
    daily: toCsv(
      report.entities.flatMap((e) => e.daily.map((d) => ({ scope: e.scope, entity_id: e.entity_id, name: e.name, ...d }))),
      ['scope', 'entity_id', 'name', 'day', 'peak_utilization', 'peak_p95_mbps'],
    ),
    hourly: toCsv(
      report.entities.flatMap((e) => e.hourly.map((h) => ({ scope: e.scope, entity_id: e.entity_id, name: e.name, ...h }))),
      ['scope', 'entity_id', 'name', 'hour_at', 'utilization', 'p95_mbps', 'max_mbps', 'status'],
    ),
    inputs: toCsv(report.inputs as unknown as Record<string, unknown>[], ['table', 'dt', 'hour', 'key', 'sha256', 'rows', 'bytes', 'run_id', 'attempt_id', 'committed_at']),
  };
}
