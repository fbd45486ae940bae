-- grain: one row per flow of the hour
-- keys: flow_id
-- upstream: flows_enriched, rule_violations
-- materialized: table
-- tests: not_null(flow_id, verdict, violated_rule_ids); unique(flow_id); accepted_values(verdict: conformant, non_conformant)
--
-- rule_violations is compiled at run time from the rules file (lib/rules/compile-rules.ts).
with

violated as (
    select flow_id, list_sort(list_distinct(list(rule_id))) as violated_rule_ids
    from rule_violations
    group by flow_id
)

select
    f.flow_id,
    case when v.flow_id is null then 'conformant' else 'non_conformant' end as verdict,
    coalesce(v.violated_rule_ids, cast([] as varchar[])) as violated_rule_ids
from flows_enriched as f
left join violated as v on f.flow_id = v.flow_id
