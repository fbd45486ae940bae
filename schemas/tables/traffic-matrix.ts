import { column, defineTable, type RowOf } from './table-definition.ts';

export const trafficMatrixTable = defineTable({
  name: 'traffic_matrix',
  root: 'curated',
  schemaVersion: 1,
  orderBy: ['dimension', 'src_group', 'dst_group'],
  doc: 'Who talks to whom in the event hour: one row per (dimension, source group, destination group); a flow counts once per segment pair and once per tag pair it has.',
  columns: [
    column('hour_at', 'TIMESTAMP', false, 'start of the event hour (UTC)'),
    column('dimension', 'VARCHAR', false, 'segment or tag'),
    column('src_group', 'VARCHAR', false, 'source segment or tag ("untagged" when a side has no tag)'),
    column('dst_group', 'VARCHAR', false, 'destination segment or tag'),
    column('flows', 'BIGINT', false, 'flow records'),
    column('packets', 'BIGINT', false, 'packets from source group to destination group, answers included that a record of the opposite pair counts (Azure reverse_packets)'),
    column('bytes', 'BIGINT', false, 'bytes from source group to destination group, answers included that a record of the opposite pair counts (Azure reverse_bytes)'),
    column('rejected_flows', 'BIGINT', false, 'flow records with action reject'),
    column('non_conformant_flows', 'BIGINT', false, 'flow records that violate at least one rule'),
    column('run_id', 'VARCHAR', false, 'run that published this row'),
  ],
});

export type TrafficMatrixRow = RowOf<typeof trafficMatrixTable>;
