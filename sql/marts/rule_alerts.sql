-- grain: one row per (rule, source address, destination address, destination port) in the event hour
-- keys: alert_id
-- upstream: violations, rule_violations, ref_rules
-- materialized: view
--
-- The rule-violation alerts; alerts.sql publishes them with the late-data alerts.
-- alert_id is a hash of the grouping key and the hour only, so a rerun or backfill of the hour
-- gives the same ids and the sinks' delivery state (lib/alerts) recognises alerts already sent.
-- A rule alert counts connections, not observer records (docs/sources.md, "Counted once"). Its
-- counters add up, per observation interval of a connection, the records one interval merges
-- (enrich/connection_observations.sql: two agents, two ENIs, …) once: the record that counts it
-- in totals, or, when that one does not break the rule (a destination that rejected what its
-- source let out), the best-placed record that does. Its flow_count is of connections
-- (connection_key: an Azure session's B, C and E tuples, an agent's records of each minute, are
-- one connection, whose counters are the sum of those intervals' deltas).
with

violating as (
    select
        v.*,
        f.end_at,
        f.raw_object_key,
        f.observed_by,
        connection_key(v.src_ip, v.src_port, v.dst_ip, v.dst_port, v.protocol, v.start_at) as connection,
        row_number() over (
            partition by v.rule_id, v.src_ip, v.dst_ip, v.dst_port, coalesce(f.counted_flow_id, v.flow_id)
            order by f.counts_in_totals desc, v.flow_id
        ) as record_of_interval,
        count(*) over (partition by v.rule_id, v.src_ip, v.dst_ip, v.dst_port) as observation_count
    from violations as v
    inner join rule_violations as f on v.flow_id = f.flow_id and v.rule_id = f.rule_id
    qualify record_of_interval = 1
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
        count(distinct connection) as flow_count,
        coalesce(sum(packets), 0) as packets,
        coalesce(sum(bytes), 0) as bytes,
        min(start_at) as first_seen_at,
        max(end_at) as last_seen_at,
        min(flow_id, 5) as sample_flow_ids,
        alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) as sample_flows,
        -- The VM and list columns are per address; one value per group is the value.
        min(src_vm_id) as src_vm_id,
        min(dst_vm_id) as dst_vm_id,
        list_sort(list_distinct(flatten(list(src_threat_lists)))) as src_threat_lists,
        list_sort(list_distinct(flatten(list(dst_threat_lists)))) as dst_threat_lists,
        list_sort(list_distinct(flatten(list(observed_by)))) as observed_by,
        any_value(observation_count) as observation_count
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
    g.sample_flows,
    g.observed_by,
    g.observation_count
from grouped as g
inner join ref_rules as r on g.rule_id = r.rule_id
