-- grain: one row per flow record of the event hour (the curated `flows` table, schemas/tables/flows.ts)
-- keys: flow_id (tested on flows_enriched, which it extends one to one)
-- upstream: flows_enriched, violated_flows
-- materialized: view
-- tests: accepted_values(verdict: conformant, non_conformant)
--
-- A view: the wide rows are materialized once (flows_enriched) and written once (the export);
-- the join to the few violating flows is cheap enough to repeat for each reader.
select
    f.*,
    case when v.flow_id is null then 'conformant' else 'non_conformant' end as verdict,
    coalesce(v.violated_rule_ids, cast([] as varchar[])) as violated_rule_ids,
    getvariable('run_id') as run_id
from flows_enriched as f
left join violated_flows as v on f.flow_id = v.flow_id
