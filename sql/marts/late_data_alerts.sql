-- grain: one row per (reason, source type, event hour) of late_records (the built-in late_data rules)
-- keys: alert_id
-- upstream: late_records
-- materialized: view
--
-- The late-data alerts; alerts.sql publishes them with the rule-violation alerts. alert_id is a
-- hash of the grouping key and the run's hour (the partition it is published in), so a rerun
-- gives the same ids and the sinks' delivery state (lib/alerts) recognises alerts already sent.
with

late as (
    select
        reason,
        source_type,
        event_hour_at,
        count(*) as record_count,
        count(distinct raw_object_key) as object_count,
        sum(packets) as packets,
        sum(bytes) as bytes,
        min(start_at) as first_seen_at,
        max(end_at) as last_seen_at,
        min(delivery_delay_s) as min_delay_s,
        max(delivery_delay_s) as max_delay_s,
        min(flow_id, 5) as sample_flow_ids,
        alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) as sample_flows
    from late_records
    group by reason, source_type, event_hour_at
)

select
    md5(concat_ws('|', 'late_data_' || l.reason, l.source_type, strftime(l.event_hour_at, '%Y-%m-%dT%H'), strftime(getvariable('hour_start'), '%Y-%m-%dT%H'))) as alert_id,
    'late_data_' || l.reason as rule_id,
    'high' as severity,
    l.event_hour_at as hour_at,
    null as src_ip,
    null as dst_ip,
    null as dst_port,
    null as protocol,
    l.record_count as flow_count,
    l.packets,
    l.bytes,
    l.first_seen_at,
    l.last_seen_at,
    l.sample_flow_ids,
    getvariable('rules_version') as rules_version,
    getvariable('run_id') as run_id,
    'late_data' as rule_kind,
    null as owner,
    printf(
        '%d %s record(s) of hour %s in %d object(s) reached the store %s to %s after that hour ended, %s. '
        || 'They are in late_records (dt=%s/hour=%s), not in flows, and were not checked against the rules. %s',
        l.record_count, l.source_type, strftime(l.event_hour_at, '%Y-%m-%dT%H'), l.object_count,
        to_seconds(l.min_delay_s)::varchar, to_seconds(l.max_delay_s)::varchar,
        case
            when l.reason = 'beyond_lookback' then 'after the rescan look-back (' || getvariable('rescan_lookback') || ') of the hour had passed, so no run republishes it'
            else 'outside the delivery window of the hour (lateness ' || getvariable('lateness') || '), so no run of that hour reads them'
        end,
        strftime(getvariable('hour_start'), '%Y-%m-%d'), strftime(getvariable('hour_start'), '%H'),
        case
            when l.reason = 'beyond_lookback' then 'To fold them into their hour: netflow backfill --from ' || strftime(l.event_hour_at, '%Y-%m-%dT%H') || ' --to ' || strftime(l.event_hour_at, '%Y-%m-%dT%H') || '.'
            else 'Raise lateness above the delay, then: netflow backfill --from ' || strftime(l.event_hour_at, '%Y-%m-%dT%H') || ' --to ' || strftime(l.event_hour_at, '%Y-%m-%dT%H') || '.'
        end
    ) as description,
    null as src_vm_id,
    null as dst_vm_id,
    [] as src_threat_lists,
    [] as dst_threat_lists,
    l.sample_flows,
    [] as observed_by,
    l.record_count as observation_count
from late as l
