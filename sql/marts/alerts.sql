-- grain: one row per (rule, source address, destination address, destination port) in the event hour
-- keys: alert_id
-- upstream: violations, flows, ref_rules
-- materialized: table
-- tests: not_null(alert_id, rule_id, severity, flow_count, sample_flows); unique(alert_id)
--
-- alert_id is a hash of the grouping key and the hour only, so a rerun or backfill of the hour
-- gives the same ids and the sinks' delivery state (lib/alerts) recognises alerts already sent.
with

violating as (
    select
        v.*,
        f.end_at,
        f.raw_object_key
    from violations as v
    inner join flows as f on v.flow_id = f.flow_id
),

grouped as (
    select
        rule_id,
        src_ip,
        dst_ip,
        dst_port,
        any_value(severity) as severity,
        any_value(rule_kind) as rule_kind,
        min(protocol) as protocol,
        count(*) as flow_count,
        sum(packets) as packets,
        sum(bytes) as bytes,
        min(start_at) as first_seen_at,
        max(end_at) as last_seen_at,
        list_sort(list(flow_id))[1:5] as sample_flow_ids,
        list(
            {
                'flow_id': flow_id,
                'start_at': strftime(start_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
                'end_at': strftime(end_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
                'src_port': src_port,
                'protocol': protocol,
                'action': action,
                'packets': packets,
                'bytes': bytes,
                'source_type': source_type,
                'raw_object_key': raw_object_key
            }
            order by start_at, flow_id
        )[1:3] as samples,
        -- The VM and list columns are per address; one value per group is the value.
        min(src_vm_id) as src_vm_id,
        min(dst_vm_id) as dst_vm_id,
        list_sort(list_distinct(flatten(list(src_threat_lists)))) as src_threat_lists,
        list_sort(list_distinct(flatten(list(dst_threat_lists)))) as dst_threat_lists
    from violating
    group by rule_id, src_ip, dst_ip, dst_port
)

select
    md5(concat_ws('|', g.rule_id, g.src_ip, g.dst_ip, coalesce(cast(g.dst_port as varchar), '-'), strftime(getvariable('hour_start'), '%Y-%m-%dT%H'))) as alert_id,
    g.rule_id,
    g.severity,
    getvariable('hour_start') as hour_at,
    g.src_ip,
    g.dst_ip,
    g.dst_port,
    g.protocol,
    g.flow_count,
    g.packets,
    g.bytes,
    g.first_seen_at,
    g.last_seen_at,
    g.sample_flow_ids,
    getvariable('rules_version') as rules_version,
    getvariable('run_id') as run_id,
    g.rule_kind,
    r.owner,
    r.description,
    g.src_vm_id,
    g.dst_vm_id,
    g.src_threat_lists,
    g.dst_threat_lists,
    cast(to_json(g.samples) as varchar) as sample_flows
from grouped as g
inner join ref_rules as r on g.rule_id = r.rule_id
