import { column, defineTable, type RowOf } from './table-definition.ts';

export const alertsTable = defineTable({
  name: 'alerts',
  root: 'curated',
  // 2: src_ip, dst_ip and protocol may be null (late_data alerts name a source type and an hour, not an address pair).
  // 3: flow_count, packets and bytes count connections once (observed_by, observation_count added).
  schemaVersion: 3,
  orderBy: ['alert_id'],
  doc: 'One alert per (rule, source, destination, destination port, hour), with counts and samples; and one per (source type, event hour) of records that arrived too late for their hour (rule_kind late_data).',
  columns: [
    column('alert_id', 'VARCHAR', false, 'deterministic: hash of rule, source, destination, destination port and hour'),
    column('rule_id', 'VARCHAR', false, 'violated rule'),
    column('severity', 'VARCHAR', false, 'severity of the rule'),
    column('hour_at', 'TIMESTAMP', false, 'event hour (UTC); for late_data alerts, the hour the late records belong to (the alert is in the partition of the run that found them)'),
    column('src_ip', 'VARCHAR', true, 'source address (null for late_data alerts, which are about a source type, not an address)'),
    column('dst_ip', 'VARCHAR', true, 'destination address (null for late_data alerts)'),
    column('dst_port', 'INTEGER', true, 'destination port'),
    column('protocol', 'INTEGER', true, 'IANA protocol number (the smallest when several; null for late_data alerts)'),
    column(
      'flow_count',
      'BIGINT',
      false,
      'violating connections (one 5-tuple in the hour), each counted once however many observers reported it and records they cut it into (late_data: late records)',
    ),
    column('packets', 'BIGINT', false, 'packets of those connections, each counted once'),
    column('bytes', 'BIGINT', false, 'bytes of those connections, each counted once'),
    column('first_seen_at', 'TIMESTAMP', false, 'earliest flow start'),
    column('last_seen_at', 'TIMESTAMP', false, 'latest flow end'),
    column('sample_flow_ids', 'VARCHAR[]', false, 'up to five flow ids, smallest first'),
    column('rules_version', 'VARCHAR', false, 'hash of the rules file in force'),
    column('run_id', 'VARCHAR', false, 'run that produced the alert'),
    column('rule_kind', 'VARCHAR', false, 'deny, allow_only, require_known, threat, or late_data (a built-in rule: late_data_beyond_lookback, late_data_beyond_lateness)'),
    column('owner', 'VARCHAR', true, 'team that owns the rule'),
    column('description', 'VARCHAR', false, 'what the rule protects, from the rules file (late_data: what arrived late, where it is and the remedy)'),
    column('src_vm_id', 'VARCHAR', true, 'source VM, from the inventory snapshot in force'),
    column('dst_vm_id', 'VARCHAR', true, 'destination VM, from the inventory snapshot in force'),
    column('src_threat_lists', 'VARCHAR[]', false, 'threat lists naming the source address'),
    column('dst_threat_lists', 'VARCHAR[]', false, 'threat lists naming the destination address'),
    column('sample_flows', 'VARCHAR', false, 'JSON array of up to three flows (earliest first): id, times, ports, action, counts, source and raw object'),
    column('observed_by', 'VARCHAR[]', false, 'observers that reported the violating connections, as source_type:point (flows.observed_by; empty for late_data)'),
    column('observation_count', 'BIGINT', false, 'violating flow records of all those observers (late_data: late records)'),
  ],
});

export type AlertRow = RowOf<typeof alertsTable>;
