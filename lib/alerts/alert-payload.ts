import type { AlertRow } from '../../schemas/tables/alerts.ts';

/** An alert as sinks send it: JSON-safe (numbers, ISO times), samples parsed. */
export interface AlertPayload {
  alert_id: string;
  rule_id: string;
  rule_kind: string;
  severity: string;
  owner: string | null;
  description: string;
  hour: string;
  /** Null for late_data alerts, which are about a source type and an hour, not an address pair. */
  src_ip: string | null;
  dst_ip: string | null;
  dst_port: number | null;
  protocol: number | null;
  src_vm_id: string | null;
  dst_vm_id: string | null;
  src_threat_lists: string[];
  dst_threat_lists: string[];
  /** Connections, each counted once however many observers reported it and records they cut it into (late_data: records). */
  flow_count: number;
  /** Observers that reported those connections (source_type:point); rule alerts only. */
  observed_by?: string[];
  packets: number;
  bytes: number;
  first_seen_at: string;
  last_seen_at: string;
  sample_flows: unknown[];
  rules_version: string;
  run_id: string;
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function atLeast(severity: string, minimum: Severity): boolean {
  return SEVERITIES.indexOf(severity as Severity) >= SEVERITIES.indexOf(minimum);
}

export function alertPayloadOf(row: AlertRow): AlertPayload {
  let samples: unknown[];
  try {
    samples = JSON.parse(row.sample_flows) as unknown[];
  } catch {
    samples = [];
  }
  return {
    alert_id: row.alert_id,
    rule_id: row.rule_id,
    rule_kind: row.rule_kind,
    severity: row.severity,
    owner: row.owner,
    description: row.description,
    hour: row.hour_at.toISOString().slice(0, 13),
    src_ip: row.src_ip,
    dst_ip: row.dst_ip,
    dst_port: row.dst_port,
    protocol: row.protocol,
    src_vm_id: row.src_vm_id,
    dst_vm_id: row.dst_vm_id,
    src_threat_lists: [...row.src_threat_lists],
    dst_threat_lists: [...row.dst_threat_lists],
    flow_count: Number(row.flow_count),
    observed_by: [...row.observed_by],
    packets: Number(row.packets),
    bytes: Number(row.bytes),
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    sample_flows: samples,
    rules_version: row.rules_version,
    run_id: row.run_id,
  };
}

/** One human line per alert (stdout text format, Slack messages). */
export function alertLine(alert: AlertPayload): string {
  if (alert.rule_kind === 'late_data') {
    return `${alert.severity.toUpperCase()} ${alert.rule_id}: ${alert.flow_count} record(s) of hour ${alert.hour} arrived too late for it; in late_records, not in flows`;
  }
  const lists = [...alert.src_threat_lists, ...alert.dst_threat_lists];
  return (
    `${alert.severity.toUpperCase()} ${alert.rule_id}: ${alert.src_ip} -> ${alert.dst_ip}:${alert.dst_port ?? '-'} ` +
    `${alert.flow_count} connection(s), ${alert.bytes} bytes, ${alert.first_seen_at.slice(11, 19)}..${alert.last_seen_at.slice(11, 19)} UTC on ${alert.hour.slice(0, 10)}` +
    (lists.length > 0 ? ` [threat lists: ${[...new Set(lists)].join(', ')}]` : '')
  );
}
