-- grain: one row per (source address, hour): its busiest sliding window of distinct hosts on one destination port (a horizontal scan)
-- keys: src_ip, hour_at
-- upstream: an_source_minute_destinations
-- materialized: table
-- tests: not_null(src_ip, hour_at, hosts); unique(src_ip, hour_at)
-- A ping sweep has no port: the port is compared with IS NOT DISTINCT FROM, so it counts as one "port".
with

anchors as (
    select distinct src_ip, dst_port, minute_at from an_source_minute_destinations
),

windows as (
    select
        a.src_ip,
        a.dst_port,
        a.minute_at - to_minutes(getvariable('host_sweep_window_min') - 1) as window_start_at,
        a.minute_at + interval 1 minute as window_end_at,
        count(distinct d.dst_ip) as hosts,
        sum(d.flow_count) as flow_count,
        sum(d.bytes) as bytes
    from anchors as a
    inner join an_source_minute_destinations as d
        on d.src_ip = a.src_ip
        and d.dst_port is not distinct from a.dst_port
        and d.minute_at between a.minute_at - to_minutes(getvariable('host_sweep_window_min') - 1) and a.minute_at
    group by a.src_ip, a.dst_port, a.minute_at
),

ranked as (
    select *, date_trunc('hour', window_end_at - interval 1 minute) as hour_at from windows
)

select
    src_ip,
    hour_at,
    max(hosts) as hosts,
    arg_max(dst_port, (hosts, -epoch(window_start_at), -coalesce(dst_port, -1))) as dst_port,
    arg_max(window_start_at, (hosts, -epoch(window_start_at), -coalesce(dst_port, -1))) as window_start_at,
    arg_max(window_end_at, (hosts, -epoch(window_start_at), -coalesce(dst_port, -1))) as window_end_at,
    arg_max(flow_count, (hosts, -epoch(window_start_at), -coalesce(dst_port, -1))) as flow_count,
    arg_max(bytes, (hosts, -epoch(window_start_at), -coalesce(dst_port, -1))) as bytes,
    -- Every port swept in the hour (its busiest window at the threshold), for the evidence.
    list_sort(list(distinct dst_port) filter (where hosts >= getvariable('host_sweep_threshold'))) as swept_ports
from ranked
group by src_ip, hour_at
