import { column, defineTable, type RowOf } from './table-definition.ts';

export const alertsTable = defineTable({
  name: 'alerts',
  root: 'alerts',
  schemaVersion: 1,
  format: 'ndjson',
  orderBy: ['alert_id'],
  doc: 'One alert per (rule, source, destination, destination port, hour), with counts and samples.',
  columns: [
    column('alert_id', 'VARCHAR', false, 'deterministic: hash of rule, source, destination, destination port and hour'),
    column('rule_id', 'VARCHAR', false, 'violated rule'),
    column('severity', 'VARCHAR', false, 'severity of the rule'),
    column('hour_at', 'TIMESTAMP', false, 'event hour (UTC)'),
    column('src_ip', 'VARCHAR', false, 'source address'),
    column('dst_ip', 'VARCHAR', false, 'destination address'),
    column('dst_port', 'INTEGER', true, 'destination port'),
    column('protocol', 'INTEGER', false, 'IANA protocol number (the smallest when several)'),
    column('flow_count', 'BIGINT', false, 'violating flow records'),
    column('packets', 'BIGINT', false, 'packets'),
    column('bytes', 'BIGINT', false, 'bytes'),
    column('first_seen_at', 'TIMESTAMP', false, 'earliest flow start'),
    column('last_seen_at', 'TIMESTAMP', false, 'latest flow end'),
    column('sample_flow_ids', 'VARCHAR[]', false, 'up to five flow ids, smallest first'),
    column('rules_version', 'VARCHAR', false, 'hash of the rules file in force'),
    column('run_id', 'VARCHAR', false, 'run that produced the alert'),
    column('rule_kind', 'VARCHAR', false, 'deny, allow_only, require_known or threat'),
    column('owner', 'VARCHAR', true, 'team that owns the rule'),
    column('description', 'VARCHAR', false, 'what the rule protects, from the rules file'),
    column('src_vm_id', 'VARCHAR', true, 'source VM, from the inventory snapshot in force'),
    column('dst_vm_id', 'VARCHAR', true, 'destination VM, from the inventory snapshot in force'),
    column('src_threat_lists', 'VARCHAR[]', false, 'threat lists naming the source address'),
    column('dst_threat_lists', 'VARCHAR[]', false, 'threat lists naming the destination address'),
    column('sample_flows', 'VARCHAR', false, 'JSON array of up to three flows (earliest first): id, times, ports, action, counts, source and raw object'),
  ],
});

export type AlertRow = RowOf<typeof alertsTable>;
