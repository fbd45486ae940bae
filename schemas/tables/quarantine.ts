import { column, defineTable, type RowOf } from './table-definition.ts';

export const quarantineTable = defineTable({
  name: 'quarantine',
  root: 'curated',
  schemaVersion: 1,
  orderBy: ['raw_object_key', 'raw_offset'],
  doc: 'Every record (or whole object) of the run that could not be read, with its raw text and the reason.',
  columns: [
    column('source_type', 'VARCHAR', false, 'source the object was discovered as'),
    column('raw_object_key', 'VARCHAR', false, 'object the record was read from'),
    column('raw_offset', 'BIGINT', true, 'line number (1-based); null when the whole object was quarantined'),
    column('reason', 'VARCHAR', false, 'what was wrong'),
    column('raw_text', 'VARCHAR', true, 'the raw line (cut to 4 KiB)'),
    column('run_id', 'VARCHAR', false, 'run that quarantined it'),
  ],
});

export type QuarantineRow = RowOf<typeof quarantineTable>;
