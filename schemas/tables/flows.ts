import { column, defineTable, type RowOf } from './table-definition.ts';

const endpoint = (side: 'src' | 'dst', label: string) =>
  [
    column(`${side}_vm_id`, 'VARCHAR', true, `VM at the ${label} end, from the inventory`),
    column(`${side}_vm_name`, 'VARCHAR', true, `name of that VM`),
    column(`${side}_account_id`, 'VARCHAR', true, `account/subscription of that VM`),
    column(`${side}_segment`, 'VARCHAR', true, `network segment: the VM's, else the matched range's, else "internet" for public addresses`),
    column(`${side}_tags`, 'VARCHAR[]', false, `tags of the VM and of the matched range (sorted, distinct)`),
    column(`${side}_cidr`, 'VARCHAR', true, `longest known range containing the ${label} address`),
    column(`${side}_range_name`, 'VARCHAR', true, `name of that range`),
    column(`${side}_is_public`, 'BOOLEAN', false, `whether the ${label} address is globally routable`),
    column(`${side}_threat_lists`, 'VARCHAR[]', false, `threat lists naming the ${label} address (empty when none)`),
  ] as const;

export const flowsTable = defineTable({
  name: 'flows',
  root: 'curated',
  schemaVersion: 1,
  format: 'parquet',
  // Not sorted: ordering the widest table cost ~60 % more CPU than writing it; reruns publish the same row set.
  orderBy: [],
  doc: 'One row per flow record of the event hour, from every source, normalized, enriched and checked against the rules.',
  columns: [
    column('flow_id', 'VARCHAR', false, 'deterministic id: hash of source type, raw object key and line'),
    column('start_at', 'TIMESTAMP', false, 'first packet of the record (UTC)'),
    column('end_at', 'TIMESTAMP', false, 'last packet of the record (UTC)'),
    column('source_type', 'VARCHAR', false, 'aws_vpc, azure_nsg, azure_vnet, gcp_vpc, oci_vcn or agent'),
    column('src_ip', 'VARCHAR', false, 'source address, canonical text (IPv4 dotted quad, IPv6 RFC 5952)'),
    column('src_port', 'INTEGER', true, 'source port (ICMP: type)'),
    column('dst_ip', 'VARCHAR', false, 'destination address, canonical text'),
    column('dst_port', 'INTEGER', true, 'destination port (ICMP: code)'),
    column('protocol', 'INTEGER', false, 'IANA protocol number'),
    column('direction', 'VARCHAR', true, 'ingress or egress from the observing resource, null when unknown'),
    column('action', 'VARCHAR', true, 'accept or reject, null when the source does not say'),
    column('packets', 'BIGINT', false, 'packets in the record'),
    column('bytes', 'BIGINT', false, 'bytes in the record (L3, headers included, as the source counts them)'),
    column('tcp_flags', 'INTEGER', true, 'OR of TCP flags seen, null when the source does not report them'),
    column('community_id', 'VARCHAR', true, 'Community ID v1 (seed 0) of the 5-tuple'),
    column('observer_vm_id', 'VARCHAR', true, 'VM that observed the flow (agent VM, or the owner of the logging interface)'),
    column('interface_id', 'VARCHAR', true, 'interface that observed the flow'),
    column('account_id', 'VARCHAR', true, 'account of the observing resource'),
    column('region', 'VARCHAR', true, 'region of the observing resource'),
    ...endpoint('src', 'source'),
    ...endpoint('dst', 'destination'),
    column('verdict', 'VARCHAR', false, 'conformant or non_conformant'),
    column('violated_rule_ids', 'VARCHAR[]', false, 'ids of the rules the flow violates (sorted; empty when conformant)'),
    column('raw_object_key', 'VARCHAR', false, 'object the record was read from'),
    column('raw_offset', 'BIGINT', false, 'line number of the record in that object (1-based)'),
    column('run_id', 'VARCHAR', false, 'run that published this row'),
  ],
});

export type FlowRow = RowOf<typeof flowsTable>;
