import { column, defineTable, type RowOf } from './table-definition.ts';

export const anomaliesTable = defineTable({
  name: 'anomalies',
  root: 'curated',
  schemaVersion: 1,
  orderBy: ['kind', 'anomaly_id'],
  doc: 'Traffic no rule describes but that stands out: fan-out, port scans, new talkers and volume spikes in the event hour, each with its evidence (window, counts, baseline). Built by jobs/hourly-analytics.ts from the curated flows of the hour and the trailing days.',
  columns: [
    column('anomaly_id', 'VARCHAR', false, 'deterministic: hash of kind, subject and hour'),
    column('kind', 'VARCHAR', false, 'fan_out, port_scan, new_talker or volume_spike'),
    column('severity', 'VARCHAR', false, 'low, medium, high or critical'),
    column('hour_at', 'TIMESTAMP', false, 'event hour (UTC)'),
    column('subject', 'VARCHAR', false, 'what is anomalous, in words a person can search for ("10.0.2.10", "10.0.2.10 -> 10.0.3.10", "app -> data")'),
    column('src_ip', 'VARCHAR', true, 'source address (null for segment-pair volume)'),
    column('src_vm_id', 'VARCHAR', true, 'source VM'),
    column('src_vm_name', 'VARCHAR', true, 'source VM name'),
    column('src_segment', 'VARCHAR', true, 'source segment'),
    column('dst_ip', 'VARCHAR', true, 'destination address (port scan, new talker)'),
    column('dst_port', 'INTEGER', true, 'destination port (new talker)'),
    column('dst_segment', 'VARCHAR', true, 'destination segment'),
    column('protocol', 'INTEGER', true, 'IANA protocol number (new talker)'),
    column('window_start_at', 'TIMESTAMP', false, 'start of the window in which the anomaly was measured'),
    column('window_end_at', 'TIMESTAMP', false, 'end of that window (exclusive)'),
    column('observed', 'DOUBLE', false, 'measured value: distinct destinations, distinct ports, bytes, or 1 for a new talker'),
    column('baseline', 'DOUBLE', true, 'trailing baseline it is compared with (fan-out: p95 of past hourly peaks; volume: median of the same hour of past days)'),
    column('threshold', 'DOUBLE', false, 'configured threshold that was crossed'),
    column('score', 'DOUBLE', false, 'how far past normal: observed / max(baseline, 1) for counts, robust z-score for volume'),
    column('flow_count', 'BIGINT', false, 'flow records behind the anomaly'),
    column('bytes', 'BIGINT', false, 'bytes of those records'),
    column('sample_flow_ids', 'VARCHAR[]', false, 'up to five flow ids, smallest first'),
    column('evidence', 'VARCHAR', false, 'JSON object with the full evidence: window, counts, baseline history, samples'),
    column('thresholds_version', 'VARCHAR', false, 'hash of the detection thresholds in force'),
    column('run_id', 'VARCHAR', false, 'analytics run that published this row'),
  ],
});

export type AnomalyRow = RowOf<typeof anomaliesTable>;
