-- grain: one row per flow record of the event hour (the curated `flows` table, schemas/tables/flows.ts)
-- keys: flow_id
-- upstream: flows_enriched, violated_flows
-- materialized: view
--
-- A view read once, by the export: flow_id is computed here, for the rows being written, and
-- the few violating flows are joined by id. flow_id is unique because (source_type,
-- raw_object_key, raw_offset) is, which every source model tests, and the enrichment joins keep
-- one row per flow, which record_counts checks against the flows of the hour.
with

identified as (
    select
        flow_id_of(source_type, raw_object_key, raw_offset) as flow_id,
        *
    from flows_enriched
)

select
    f.*,
    case when v.flow_id is null then 'conformant' else 'non_conformant' end as verdict,
    coalesce(v.violated_rule_ids, cast([] as varchar[])) as violated_rule_ids,
    getvariable('run_id') as run_id
from identified as f
left join violated_flows as v on f.flow_id = v.flow_id
