import { column, defineTable, type RowOf } from './table-definition.ts';

export const violationsTable = defineTable({
  name: 'violations',
  root: 'curated',
  schemaVersion: 1,
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
    column('protocol', 'INTEGER', false, 'IANA protocol number'),
    column('action', 'VARCHAR', true, 'accept or reject'),
    column('packets', 'BIGINT', false, 'packets'),
    column('bytes', 'BIGINT', false, 'bytes'),
    column('src_vm_id', 'VARCHAR', true, 'source VM'),
    column('dst_vm_id', 'VARCHAR', true, 'destination VM'),
    column('src_segment', 'VARCHAR', true, 'source segment'),
    column('dst_segment', 'VARCHAR', true, 'destination segment'),
    column('run_id', 'VARCHAR', false, 'run that published this row'),
    column('src_threat_lists', 'VARCHAR[]', false, 'threat lists naming the source address'),
    column('dst_threat_lists', 'VARCHAR[]', false, 'threat lists naming the destination address'),
    column('rule_owner', 'VARCHAR', true, 'team that owns the rule'),
  ],
});

export type ViolationRow = RowOf<typeof violationsTable>;
