-- grain: one row per anomaly of the event hour (one per source for fan-out, per source → destination for port scans, per new pair, per spiking segment pair or source)
-- keys: anomaly_id
-- upstream: an_fan_out_hourly, an_port_scan_hourly, an_talker_pairs_hourly, an_volume_hourly, an_hours, an_flows
-- materialized: table
-- tests: not_null(anomaly_id, kind, severity, subject, observed, threshold, score, evidence); unique(anomaly_id); accepted_values(kind: fan_out, port_scan, new_talker, volume_spike); accepted_values(severity: low, medium, high, critical)
with

hour_sources as (
    select src_ip, any_value(src_vm_id) as src_vm_id, any_value(src_vm_name) as src_vm_name, any_value(src_segment) as src_segment
    from an_flows
    where start_at >= getvariable('hour_start') - interval 1 hour and start_at < getvariable('hour_end')
    group by src_ip
),

-- Fan-out: the busiest window of the hour against the source's own past hourly peaks.
fan_out_baseline as (
    select
        cur.src_ip,
        quantile_cont(past.destinations, 0.95) as baseline,
        count(past.hour_at) as baseline_hours,
        max(past.destinations) as baseline_max
    from an_fan_out_hourly as cur
    left join an_fan_out_hourly as past
        on past.src_ip = cur.src_ip
        and past.hour_at >= cur.hour_at - to_days(getvariable('fan_out_baseline_days'))
        and past.hour_at < cur.hour_at
    where cur.hour_at = getvariable('hour_start')
    group by cur.src_ip
),

fan_out as (
    select
        'fan_out' as kind,
        c.src_ip as subject,
        c.src_ip,
        cast(null as varchar) as dst_ip,
        cast(null as integer) as dst_port,
        cast(null as varchar) as dst_segment,
        cast(null as integer) as protocol,
        c.window_start_at,
        c.window_end_at,
        cast(c.destinations as double) as observed,
        b.baseline,
        cast(getvariable('fan_out_threshold') as double) as threshold,
        c.destinations / greatest(coalesce(b.baseline, 0), 1) as score,
        c.flow_count,
        c.bytes,
        (
            select list_sort(list(f.flow_id))[1:5] from an_flows as f
            where f.src_ip = c.src_ip and f.is_initiator and f.start_at >= c.window_start_at and f.start_at < c.window_end_at
        ) as sample_flow_ids,
        json_object(
            'window_minutes', getvariable('fan_out_window_min'),
            'distinct_destinations', c.destinations,
            'threshold', getvariable('fan_out_threshold'),
            'baseline_p95', b.baseline,
            'baseline_max', b.baseline_max,
            'baseline_hours', b.baseline_hours,
            'baseline_factor', getvariable('fan_out_baseline_factor'),
            'sample_destinations', (
                select list_sort(list(distinct concat_ws(':', d.dst_ip, coalesce(cast(d.dst_port as varchar), '-'))))[1:10]
                from an_source_minute_destinations as d
                where d.src_ip = c.src_ip and d.minute_at >= c.window_start_at and d.minute_at < c.window_end_at
            )
        ) as evidence,
        case when c.destinations >= 4 * getvariable('fan_out_threshold') then 'high' else 'medium' end as severity
    from an_fan_out_hourly as c
    inner join fan_out_baseline as b on b.src_ip = c.src_ip
    where c.hour_at = getvariable('hour_start')
        and c.destinations >= getvariable('fan_out_threshold')
        and c.destinations > getvariable('fan_out_baseline_factor') * coalesce(b.baseline, 0)
),

port_scan as (
    select
        'port_scan' as kind,
        concat(p.src_ip, ' -> ', p.dst_ip) as subject,
        p.src_ip,
        p.dst_ip,
        cast(null as integer) as dst_port,
        (select any_value(f.dst_segment) from an_flows as f where f.dst_ip = p.dst_ip) as dst_segment,
        cast(null as integer) as protocol,
        p.window_start_at,
        p.window_end_at,
        cast(p.ports as double) as observed,
        cast(null as double) as baseline,
        cast(getvariable('port_scan_threshold') as double) as threshold,
        p.ports / getvariable('port_scan_threshold') as score,
        p.flow_count,
        p.bytes,
        (
            select list_sort(list(f.flow_id))[1:5] from an_flows as f
            where f.src_ip = p.src_ip and f.dst_ip = p.dst_ip and f.is_initiator and f.start_at >= p.window_start_at and f.start_at < p.window_end_at
        ) as sample_flow_ids,
        json_object(
            'window_minutes', getvariable('port_scan_window_min'),
            'distinct_ports', p.ports,
            'threshold', getvariable('port_scan_threshold'),
            'sample_ports', p.sample_ports
        ) as evidence,
        'high' as severity
    from an_port_scan_hourly as p
    where p.hour_at = getvariable('hour_start')
        and p.ports >= getvariable('port_scan_threshold')
),

history as (
    select count(*) as hours
    from an_hours
    where hour_at >= getvariable('hour_start') - to_days(getvariable('new_talker_lookback_days'))
        and hour_at < getvariable('hour_start')
),

new_talker as (
    select
        'new_talker' as kind,
        concat(t.src_key, ' -> ', t.dst_key, ':', coalesce(cast(t.dst_port as varchar), '-'), '/', t.protocol) as subject,
        t.src_ip,
        t.dst_ip,
        t.dst_port,
        t.dst_segment,
        t.protocol,
        t.first_seen_at as window_start_at,
        getvariable('hour_end') as window_end_at,
        1.0 as observed,
        0.0 as baseline,
        cast(getvariable('new_talker_lookback_days') as double) as threshold,
        1.0 as score,
        t.flow_count,
        t.bytes,
        t.sample_flow_ids,
        json_object(
            'lookback_days', getvariable('new_talker_lookback_days'),
            'history_hours', h.hours,
            'pair', json_object('src', t.src_key, 'dst', t.dst_key, 'dst_port', t.dst_port, 'protocol', t.protocol),
            'first_seen_at', t.first_seen_at,
            'flow_count', t.flow_count
        ) as evidence,
        case when t.src_key = 'internet' then 'medium' else 'low' end as severity
    from an_talker_pairs_hourly as t
    cross join history as h
    where t.hour_at = getvariable('hour_start')
        and h.hours >= getvariable('new_talker_min_history_hours')
        and not exists (
            select 1 from an_talker_pairs_hourly as past
            where past.src_key = t.src_key
                and past.dst_key = t.dst_key
                and past.dst_port is not distinct from t.dst_port
                and past.protocol = t.protocol
                and past.hour_at >= getvariable('hour_start') - to_days(getvariable('new_talker_lookback_days'))
                and past.hour_at < getvariable('hour_start')
        )
),

-- Volume: the hour against the same hour of trailing days; a published hour without the key counts as 0 bytes.
volume_points as (
    select
        cur.scope,
        cur.volume_key,
        list(coalesce(past.bytes, 0) order by h.hour_at) as points
    from an_volume_hourly as cur
    inner join an_hours as h
        on h.hour_at < cur.hour_at
        and h.hour_at >= cur.hour_at - to_days(getvariable('volume_baseline_days'))
        and hour(h.hour_at) = hour(cur.hour_at)
    left join an_volume_hourly as past
        on past.scope = cur.scope and past.volume_key = cur.volume_key and past.hour_at = h.hour_at
    where cur.hour_at = getvariable('hour_start')
    group by cur.scope, cur.volume_key
),

volume_stats as (
    select
        scope,
        volume_key,
        points,
        list_median(points) as median,
        list_median(list_transform(points, p -> abs(p - list_median(points)))) as mad
    from volume_points
    where len(points) >= getvariable('volume_min_points')
),

volume_scored as (
    select
        v.*,
        s.points,
        s.median,
        s.mad,
        greatest(s.mad, getvariable('volume_mad_floor_ratio') * s.median, 1) as mad_used,
        0.6745 * (v.bytes - s.median) / greatest(s.mad, getvariable('volume_mad_floor_ratio') * s.median, 1) as z
    from an_volume_hourly as v
    inner join volume_stats as s on s.scope = v.scope and s.volume_key = v.volume_key
    where v.hour_at = getvariable('hour_start')
),

volume_spike as (
    select
        'volume_spike' as kind,
        case when scope = 'segment_pair' then volume_key else concat(coalesce(src_vm_name, src_ip), ' (', src_ip, ')') end as subject,
        src_ip,
        cast(null as varchar) as dst_ip,
        cast(null as integer) as dst_port,
        dst_segment,
        cast(null as integer) as protocol,
        getvariable('hour_start') as window_start_at,
        getvariable('hour_end') as window_end_at,
        cast(bytes as double) as observed,
        cast(median as double) as baseline,
        cast(getvariable('volume_z_threshold') as double) as threshold,
        z as score,
        flow_count,
        bytes,
        sample_flow_ids,
        json_object(
            'scope', scope,
            'key', volume_key,
            'bytes', bytes,
            'median', median,
            'mad', mad,
            'mad_used', mad_used,
            'robust_z', z,
            'same_hour_points', points,
            'z_threshold', getvariable('volume_z_threshold'),
            'ratio_to_median', bytes / greatest(median, 1),
            'min_ratio', getvariable('volume_min_ratio')
        ) as evidence,
        case when z >= 2 * getvariable('volume_z_threshold') then 'medium' else 'low' end as severity,
        src_segment as spike_src_segment,
        src_vm_id as spike_src_vm_id,
        src_vm_name as spike_src_vm_name
    from volume_scored
    where z >= getvariable('volume_z_threshold')
        and bytes >= getvariable('volume_min_bytes')
        and bytes >= getvariable('volume_min_ratio') * median
),

unioned as (
    select f.*, s.src_vm_id, s.src_vm_name, s.src_segment
    from (select * from fan_out union all by name select * from port_scan union all by name select * from new_talker) as f
    left join hour_sources as s on s.src_ip = f.src_ip
    union all by name
    select * exclude (spike_src_segment, spike_src_vm_id, spike_src_vm_name),
        spike_src_vm_id as src_vm_id, spike_src_vm_name as src_vm_name, spike_src_segment as src_segment
    from volume_spike
)

select
    md5(concat_ws('|', kind, subject, strftime(getvariable('hour_start'), '%Y-%m-%dT%H'))) as anomaly_id,
    kind,
    severity,
    getvariable('hour_start') as hour_at,
    subject,
    src_ip,
    src_vm_id,
    src_vm_name,
    src_segment,
    dst_ip,
    dst_port,
    dst_segment,
    protocol,
    window_start_at,
    window_end_at,
    observed,
    baseline,
    threshold,
    score,
    coalesce(flow_count, 0) as flow_count,
    coalesce(bytes, 0) as bytes,
    coalesce(sample_flow_ids, []) as sample_flow_ids,
    cast(evidence as varchar) as evidence,
    getvariable('thresholds_version') as thresholds_version,
    getvariable('run_id') as run_id
from unioned
