-- grain: one row per flow of the hour that violates at least one rule
-- keys: flow_id
-- upstream: rule_violations
-- materialized: table
-- tests: not_null(flow_id, violated_rule_ids); unique(flow_id)
--
-- rule_violations is compiled at run time from the rules file (lib/rules/compile-rules.ts).
-- Only violating flows are listed: the flows mart joins this small table to every flow.
select
    flow_id,
    list_sort(list_distinct(list(rule_id))) as violated_rule_ids
from rule_violations
group by flow_id
