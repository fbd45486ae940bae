-- The flow's deterministic id: the same raw record always gets the same id, so a rerun of an hour
-- publishes the same ids and a violation, an alert sample or an analyst's note keeps pointing at
-- its flow. Computed where rows are written (the flows mart, late_records, inspect), not on
-- the way there: md5 of a million keys is about half a CPU second.
CREATE OR REPLACE MACRO flow_id_of(source_type, raw_object_key, raw_offset) AS
    md5(source_type || '|' || raw_object_key || '|' || raw_offset);
