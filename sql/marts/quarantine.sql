-- grain: one row per quarantined record, or per quarantined object (raw_offset null)
-- keys: raw_object_key, raw_offset
-- upstream: all_sources__records, stg_rejects
-- materialized: table
-- tests: not_null(source_type, raw_object_key, reason); unique(raw_object_key, raw_offset)
--
-- stg_rejects holds what was refused before parsing (unreadable objects, oversized or non-UTF-8 lines).
select
    source_type,
    raw_object_key,
    raw_offset,
    invalid_reason as reason,
    raw_text,
    getvariable('run_id') as run_id
from all_sources__records
where record_status = 'invalid'

union all

select
    source_type,
    raw_object_key,
    raw_offset,
    reason,
    raw_text,
    getvariable('run_id') as run_id
from stg_rejects
