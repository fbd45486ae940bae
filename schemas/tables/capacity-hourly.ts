import { column, defineTable, type RowOf } from './table-definition.ts';

export const capacityHourlyTable = defineTable({
  name: 'capacity_hourly',
  root: 'curated',
  schemaVersion: 1,
  orderBy: ['scope', 'entity_id'],
  doc: "Throughput per VM and per segment pair in the event hour: each flow record's bytes spread evenly over its start..end, summed per minute; p95 and maximum of the 60 minutes; utilization = p95 / capacity. Built by jobs/hourly-analytics.ts.",
  columns: [
    column('hour_at', 'TIMESTAMP', false, 'event hour (UTC)'),
    column('scope', 'VARCHAR', false, 'vm or segment_pair'),
    column('entity_id', 'VARCHAR', false, 'VM id, or "<src segment> -> <dst segment>"'),
    column('vm_id', 'VARCHAR', true, 'VM (scope vm)'),
    column('vm_name', 'VARCHAR', true, 'VM name (scope vm)'),
    column('src_segment', 'VARCHAR', true, 'segment of the VM, or source segment of the pair'),
    column('dst_segment', 'VARCHAR', true, 'destination segment of the pair (scope segment_pair)'),
    column('capacity_mbps', 'DOUBLE', true, "inventory capacity of the VM, or the link capacity (configured, else the smaller side's summed VM capacity); null when unknown"),
    column('active_minutes', 'INTEGER', false, 'minutes of the hour with any traffic'),
    column('bytes', 'BIGINT', false, 'bytes attributed to the hour'),
    column('bytes_in', 'BIGINT', false, 'bytes received by the VM (scope vm; equals bytes for a pair)'),
    column('bytes_out', 'BIGINT', false, 'bytes sent by the VM (scope vm; 0 for a pair)'),
    column('avg_mbps', 'DOUBLE', false, 'mean throughput over the 60 minutes (busier direction for a VM)'),
    column('p95_mbps', 'DOUBLE', false, '95th percentile of the 60 per-minute throughputs'),
    column('max_mbps', 'DOUBLE', false, 'busiest minute'),
    column('peak_minute_at', 'TIMESTAMP', false, 'start of the busiest minute'),
    column('utilization', 'DOUBLE', true, 'p95_mbps / capacity_mbps (0..1+), null when the capacity is unknown'),
    column('status', 'VARCHAR', false, 'ok, warning, critical or unknown (no capacity)'),
    column('run_id', 'VARCHAR', false, 'analytics run that published this row'),
  ],
});

export type CapacityHourlyRow = RowOf<typeof capacityHourlyTable>;
