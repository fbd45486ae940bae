-- grain: one row per (rule, source address, destination address, destination port) in the event hour
-- keys: alert_id
-- upstream: violations, flows
-- materialized: table
-- tests: not_null(alert_id, rule_id, severity, flow_count); unique(alert_id)
select
    md5(concat_ws('|', v.rule_id, v.src_ip, v.dst_ip, coalesce(cast(v.dst_port as varchar), '-'), strftime(getvariable('hour_start'), '%Y-%m-%dT%H'))) as alert_id,
    v.rule_id,
    any_value(v.severity) as severity,
    getvariable('hour_start') as hour_at,
    v.src_ip,
    v.dst_ip,
    v.dst_port,
    min(v.protocol) as protocol,
    count(*) as flow_count,
    sum(v.packets) as packets,
    sum(v.bytes) as bytes,
    min(v.start_at) as first_seen_at,
    max(f.end_at) as last_seen_at,
    list_sort(list(v.flow_id))[1:5] as sample_flow_ids,
    getvariable('rules_version') as rules_version,
    getvariable('run_id') as run_id
from violations as v
inner join flows as f on v.flow_id = f.flow_id
group by v.rule_id, v.src_ip, v.dst_ip, v.dst_port
