import { flowsTable } from './flows.ts';
import { column, defineTable, pickColumns, type RowOf } from './table-definition.ts';

export const lateRecordsTable = defineTable({
  name: 'late_records',
  root: 'curated',
  // 2: protocol, packets and bytes may be null, as in flows (AWS custom formats without them).
  schemaVersion: 2,
  orderBy: ['event_hour_at', 'raw_object_key', 'raw_offset'],
  doc:
    'One row per flow record that arrived too late for its own hour to publish it, in the partition of the run that found it ' +
    '(never rewriting the closed hour); normalized, not enriched or checked against the rules.',
  columns: [
    column('run_hour_at', 'TIMESTAMP', false, "event hour of the run that found the record: the partition's hour"),
    column('event_hour_at', 'TIMESTAMP', false, 'hour the record belongs to (its start time), whose flows lack it'),
    column('reason', 'VARCHAR', false, 'beyond_lookback: its object reached the store after the rescan look-back of its hour; beyond_lateness: its object is outside the delivery window of its hour'),
    column('flow_id', 'VARCHAR', false, 'the id the record has in flows once its hour is rerun: hash of source type, raw object key and offset'),
    ...pickColumns(flowsTable, 'start_at', 'end_at', 'source_type', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'direction', 'action', 'packets', 'bytes'),
    ...pickColumns(flowsTable, 'observer_vm_id', 'interface_id', 'account_id', 'raw_object_key', 'raw_offset'),
    column('object_etag', 'VARCHAR', false, 'ETag of the object version read'),
    column('object_delivered_at', 'TIMESTAMP', false, "the object's last-modified time in the store (UTC)"),
    column('delivery_delay_s', 'BIGINT', false, 'seconds from the end of the event hour to the object reaching the store'),
    column('run_id', 'VARCHAR', false, 'run that found the record'),
  ],
});

export type LateRecordRow = RowOf<typeof lateRecordsTable>;
