-- grain: one row per (flow, violated rule) of the event hour
-- keys: flow_id, rule_id
-- upstream: rule_violations, ref_rules
-- materialized: table
-- tests: not_null(flow_id, rule_id, severity, rules_version); unique(flow_id, rule_id)
--
-- rules_version (the hash of the rules file) is on every row: a verdict can always be traced to
-- the exact rules that produced it. rule_violations carries each violating flow's columns.
select distinct on (f.flow_id, f.rule_id)
    f.flow_id,
    f.rule_id,
    r.kind as rule_kind,
    r.severity,
    getvariable('rules_version') as rules_version,
    f.start_at,
    f.source_type,
    f.src_ip,
    f.src_port,
    f.dst_ip,
    f.dst_port,
    f.protocol,
    f.action,
    f.packets,
    f.bytes,
    f.src_vm_id,
    f.dst_vm_id,
    f.src_segment,
    f.dst_segment,
    getvariable('run_id') as run_id,
    f.src_threat_lists,
    f.dst_threat_lists,
    r.owner as rule_owner,
    -- Two observers' records of one connection are two rows here (each its evidence) and one violating connection.
    f.counted_flow_id
from rule_violations as f
inner join ref_rules as r on f.rule_id = r.rule_id
