-- grain: one row per (source address, hour): its busiest sliding window of distinct destination hosts
-- keys: src_ip, hour_at
-- upstream: an_source_minute_destinations
-- materialized: table
-- tests: not_null(src_ip, hour_at, destinations); unique(src_ip, hour_at)
-- A window ends at every minute the source was active and reaches back fan_out_window_min minutes,
-- so it may start in the previous hour; it belongs to the hour of its last minute.
with

anchors as (
    select distinct src_ip, minute_at from an_source_minute_destinations
),

windows as (
    select
        a.src_ip,
        a.minute_at - to_minutes(getvariable('fan_out_window_min') - 1) as window_start_at,
        a.minute_at + interval 1 minute as window_end_at,
        -- Hosts, not (host, port) pairs: a vertical scan of one host is a port scan, not a fan-out.
        count(distinct d.dst_ip) as destinations,
        count(distinct d.dst_port) as ports,
        sum(d.flow_count) as flow_count,
        sum(d.bytes) as bytes
    from anchors as a
    inner join an_source_minute_destinations as d
        on d.src_ip = a.src_ip
        and d.minute_at between a.minute_at - to_minutes(getvariable('fan_out_window_min') - 1) and a.minute_at
    group by a.src_ip, a.minute_at
)

select
    src_ip,
    date_trunc('hour', window_end_at - interval 1 minute) as hour_at,
    max(destinations) as destinations,
    arg_max(ports, (destinations, -epoch(window_start_at))) as ports,
    arg_max(window_start_at, (destinations, -epoch(window_start_at))) as window_start_at,
    arg_max(window_end_at, (destinations, -epoch(window_start_at))) as window_end_at,
    arg_max(flow_count, (destinations, -epoch(window_start_at))) as flow_count,
    arg_max(bytes, (destinations, -epoch(window_start_at))) as bytes
from windows
group by all
