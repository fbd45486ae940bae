-- grain: one row per (source address, destination address, hour): the busiest sliding window of distinct destination ports
-- keys: src_ip, dst_ip, hour_at
-- upstream: an_source_minute_destinations
-- materialized: table
-- tests: not_null(src_ip, dst_ip, hour_at, ports); unique(src_ip, dst_ip, hour_at)
with

anchors as (
    select distinct src_ip, dst_ip, minute_at from an_source_minute_destinations
),

windows as (
    select
        a.src_ip,
        a.dst_ip,
        a.minute_at - to_minutes(getvariable('port_scan_window_min') - 1) as window_start_at,
        a.minute_at + interval 1 minute as window_end_at,
        count(distinct d.dst_port) as ports,
        list_sort(list(distinct d.dst_port))[1:20] as sample_ports,
        sum(d.flow_count) as flow_count,
        sum(d.bytes) as bytes
    from anchors as a
    inner join an_source_minute_destinations as d
        on d.src_ip = a.src_ip
        and d.dst_ip = a.dst_ip
        and d.minute_at between a.minute_at - to_minutes(getvariable('port_scan_window_min') - 1) and a.minute_at
    group by a.src_ip, a.dst_ip, a.minute_at
)

select
    src_ip,
    dst_ip,
    date_trunc('hour', window_end_at - interval 1 minute) as hour_at,
    max(ports) as ports,
    arg_max(window_start_at, (ports, -epoch(window_start_at))) as window_start_at,
    arg_max(window_end_at, (ports, -epoch(window_start_at))) as window_end_at,
    arg_max(sample_ports, (ports, -epoch(window_start_at))) as sample_ports,
    arg_max(flow_count, (ports, -epoch(window_start_at))) as flow_count,
    arg_max(bytes, (ports, -epoch(window_start_at))) as bytes
from windows
group by all
