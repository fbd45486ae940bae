-- grain: one row per flow record of the event hour (the curated `flows` table, schemas/tables/flows.ts)
-- keys: flow_id
-- upstream: flows_enriched, flow_verdicts
-- materialized: table
-- tests: not_null(flow_id, start_at, end_at, source_type, src_ip, dst_ip, protocol, packets, bytes, verdict, raw_object_key, raw_offset); unique(flow_id); accepted_values(direction: ingress, egress); accepted_values(action: accept, reject); accepted_values(verdict: conformant, non_conformant)
select
    f.*,
    v.verdict,
    v.violated_rule_ids,
    getvariable('run_id') as run_id
from flows_enriched as f
inner join flow_verdicts as v on f.flow_id = v.flow_id
