import { column, defineTable, type RowOf } from './table-definition.ts';

export const violationsTable = defineTable({
  name: 'violations',
  root: 'curated',
  // 2: protocol, packets and bytes may be null (AWS custom formats without them, as in flows).
  // 3: counted_flow_id, so that violations count connections, not observer records.
  schemaVersion: 3,
  orderBy: ['rule_id', 'start_at', 'flow_id'],
  doc: 'One row per (flow, violated rule) in the event hour.',
  columns: [
    column('flow_id', 'VARCHAR', false, 'the violating flow (flows.flow_id)'),
    column('rule_id', 'VARCHAR', false, 'the violated rule'),
    column('rule_kind', 'VARCHAR', false, 'deny, allow_only, require_known or threat'),
    column('severity', 'VARCHAR', false, 'low, medium, high or critical'),
    column('rules_version', 'VARCHAR', false, 'hash of the rules file in force'),
    column('start_at', 'TIMESTAMP', false, 'flow start (UTC)'),
    column('source_type', 'VARCHAR', false, 'source of the flow record'),
    column('src_ip', 'VARCHAR', false, 'source address'),
    column('src_port', 'INTEGER', true, 'source port'),
    column('dst_ip', 'VARCHAR', false, 'destination address'),
    column('dst_port', 'INTEGER', true, 'destination port'),
    column('protocol', 'INTEGER', true, 'IANA protocol number (null when the source format has none)'),
    column('action', 'VARCHAR', true, 'accept or reject'),
    column('packets', 'BIGINT', true, 'packets (null when the source format has none)'),
    column('bytes', 'BIGINT', true, 'bytes (null when the source format has none)'),
    column('src_vm_id', 'VARCHAR', true, 'source VM'),
    column('dst_vm_id', 'VARCHAR', true, 'destination VM'),
    column('src_segment', 'VARCHAR', true, 'source segment'),
    column('dst_segment', 'VARCHAR', true, 'destination segment'),
    column('run_id', 'VARCHAR', false, 'run that published this row'),
    column('src_threat_lists', 'VARCHAR[]', false, 'threat lists naming the source address'),
    column('dst_threat_lists', 'VARCHAR[]', false, 'threat lists naming the destination address'),
    column('rule_owner', 'VARCHAR', true, 'team that owns the rule'),
    column(
      'counted_flow_id',
      'VARCHAR',
      true,
      "the connection this record is one observer's view of (flows.counted_flow_id): rows of one rule sharing it are one violating connection, so count distinct (rule_id, counted_flow_id); null before schema 3",
    ),
  ],
});

export type ViolationRow = RowOf<typeof violationsTable>;
