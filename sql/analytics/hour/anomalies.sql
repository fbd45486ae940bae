-- grain: one finding per (kind, source, event hour); a volume spike of a segment pair is its own source unless a VM of the pair explains it
-- keys: anomaly_id
-- upstream: detector_history, peak_baselines, an_fan_out_hourly, an_host_sweep_hourly, an_port_scan_hourly, an_talker_pairs_hourly, an_volume_hourly, an_egress_pairs_hourly, an_hours, an_flows
-- materialized: table
-- tests: not_null(anomaly_id, kind, severity, subject, observed, threshold, score, evidence); unique(anomaly_id); accepted_values(kind: fan_out, host_sweep, port_scan, new_talker, volume_spike, slow_exfiltration); accepted_values(severity: low, medium, high, critical)
-- One event is one finding: a vertical scan is one port_scan (not a fan-out, not a new talker per
-- port), a horizontal scan one host_sweep (not a fan-out), the new pairs of one source in one hour
-- one new_talker. Every detector reports nothing until the lake holds its min_history_hours of
-- published hours in its look-back (cold start: no finding, no alert; the job says which lack it).
with

history as (
    select * from detector_history
),

baselines as (
    select * from peak_baselines
),

hour_sources as (
    select src_ip, any_value(src_vm_id) as src_vm_id, any_value(src_vm_name) as src_vm_name, any_value(src_segment) as src_segment
    from an_flows
    where start_at >= getvariable('hour_start') - interval 1 hour and start_at < getvariable('hour_end')
    group by src_ip
),

-- Horizontal scans: the busiest port's hosts against the source's own past hourly peaks.
host_sweep as (
    select
        'host_sweep' as kind,
        s.src_ip as subject,
        s.src_ip,
        cast(null as varchar) as dst_ip,
        s.dst_port,
        cast(null as varchar) as dst_segment,
        cast(null as integer) as protocol,
        s.window_start_at,
        s.window_end_at,
        cast(s.hosts as double) as observed,
        b.baseline,
        cast(getvariable('host_sweep_threshold') as double) as threshold,
        s.hosts / greatest(coalesce(b.baseline, 0), 1) as score,
        s.flow_count,
        s.bytes,
        seen.ids as sample_flow_ids,
        s.hosts as distinct_hosts,
        len(s.swept_ports) as distinct_ports,
        seen.first_at as first_seen_at,
        seen.last_at as last_seen_at,
        len(s.swept_ports) as member_count,
        h.host_sweep_hours as history_hours,
        json_object(
            'window_minutes', getvariable('host_sweep_window_min'),
            'distinct_hosts', s.hosts,
            'port', s.dst_port,
            'swept_ports', s.swept_ports,
            'threshold', getvariable('host_sweep_threshold'),
            'baseline_p95', b.baseline,
            'baseline_max', b.baseline_max,
            'baseline_hours', b.baseline_hours,
            'baseline_factor', getvariable('host_sweep_baseline_factor'),
            'history_hours', h.host_sweep_hours,
            'bytes', s.bytes,
            'first_seen_at', seen.first_at,
            'last_seen_at', seen.last_at,
            'sample_hosts', (
                select list_sort(list(distinct d.dst_ip))[1:10]
                from an_source_minute_destinations as d
                where d.src_ip = s.src_ip and d.dst_port is not distinct from s.dst_port and d.minute_at >= s.window_start_at and d.minute_at < s.window_end_at
            )
        ) as evidence,
        'high' as severity
    from an_host_sweep_hourly as s
    inner join baselines as b on b.detector = 'host_sweep' and b.src_ip = s.src_ip
    cross join history as h
    cross join lateral (
        select list_sort(list(f.flow_id))[1:5] as ids, min(f.start_at) as first_at, max(f.end_at) as last_at
        from an_flows as f
        where f.src_ip = s.src_ip and f.is_initiator and f.dst_port is not distinct from s.dst_port and f.start_at >= s.window_start_at and f.start_at < s.window_end_at
    ) as seen
    where s.hour_at = getvariable('hour_start')
        and h.host_sweep_hours >= getvariable('host_sweep_min_history_hours')
        and s.hosts >= getvariable('host_sweep_threshold')
        and s.hosts > getvariable('host_sweep_baseline_factor') * coalesce(b.baseline, 0)
),

-- Fan-out: distinct hosts of the busiest window against the source's own past hourly peaks; a sweep is reported as a sweep only.
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
        seen.ids as sample_flow_ids,
        c.destinations as distinct_hosts,
        c.ports as distinct_ports,
        seen.first_at as first_seen_at,
        seen.last_at as last_seen_at,
        c.destinations as member_count,
        h.fan_out_hours as history_hours,
        json_object(
            'window_minutes', getvariable('fan_out_window_min'),
            'distinct_hosts', c.destinations,
            'distinct_ports', c.ports,
            'threshold', getvariable('fan_out_threshold'),
            'baseline_p95', b.baseline,
            'baseline_max', b.baseline_max,
            'baseline_hours', b.baseline_hours,
            'baseline_factor', getvariable('fan_out_baseline_factor'),
            'history_hours', h.fan_out_hours,
            'bytes', c.bytes,
            'first_seen_at', seen.first_at,
            'last_seen_at', seen.last_at,
            'sample_destinations', (
                select list_sort(list(distinct concat_ws(':', d.dst_ip, coalesce(cast(d.dst_port as varchar), '-'))))[1:10]
                from an_source_minute_destinations as d
                where d.src_ip = c.src_ip and d.minute_at >= c.window_start_at and d.minute_at < c.window_end_at
            )
        ) as evidence,
        case when c.destinations >= 4 * getvariable('fan_out_threshold') then 'high' else 'medium' end as severity
    from an_fan_out_hourly as c
    inner join baselines as b on b.detector = 'fan_out' and b.src_ip = c.src_ip
    cross join history as h
    cross join lateral (
        select list_sort(list(f.flow_id))[1:5] as ids, min(f.start_at) as first_at, max(f.end_at) as last_at
        from an_flows as f
        where f.src_ip = c.src_ip and f.is_initiator and f.start_at >= c.window_start_at and f.start_at < c.window_end_at
    ) as seen
    where c.hour_at = getvariable('hour_start')
        and h.fan_out_hours >= getvariable('fan_out_min_history_hours')
        and c.destinations >= getvariable('fan_out_threshold')
        and c.destinations > getvariable('fan_out_baseline_factor') * coalesce(b.baseline, 0)
        and c.src_ip not in (select src_ip from host_sweep)
),

-- Vertical scans: one finding per source, for the host with the most ports; every scanned host is in the evidence.
port_scan_sources as (
    select
        src_ip,
        count(*) as hosts,
        max(ports) as ports,
        arg_max(dst_ip, (ports, -epoch(window_start_at))) as dst_ip,
        arg_max(sample_ports, (ports, -epoch(window_start_at))) as sample_ports,
        min(window_start_at) as window_start_at,
        max(window_end_at) as window_end_at,
        sum(flow_count) as flow_count,
        sum(bytes) as bytes,
        list_sort(list(dst_ip))[1:10] as scanned_hosts
    from an_port_scan_hourly
    where hour_at = getvariable('hour_start')
        and ports >= getvariable('port_scan_threshold')
    group by src_ip
),

port_scan as (
    select
        'port_scan' as kind,
        case when p.hosts = 1 then concat(p.src_ip, ' -> ', p.dst_ip) else concat(p.src_ip, ' -> ', p.hosts, ' hosts') end as subject,
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
        seen.ids as sample_flow_ids,
        p.hosts as distinct_hosts,
        p.ports as distinct_ports,
        seen.first_at as first_seen_at,
        seen.last_at as last_seen_at,
        p.hosts as member_count,
        h.port_scan_hours as history_hours,
        json_object(
            'window_minutes', getvariable('port_scan_window_min'),
            'distinct_ports', p.ports,
            'distinct_hosts', p.hosts,
            'scanned_hosts', p.scanned_hosts,
            'threshold', getvariable('port_scan_threshold'),
            'sample_ports', p.sample_ports,
            'history_hours', h.port_scan_hours,
            'bytes', p.bytes,
            'first_seen_at', seen.first_at,
            'last_seen_at', seen.last_at
        ) as evidence,
        'high' as severity
    from port_scan_sources as p
    cross join history as h
    cross join lateral (
        select list_sort(list(f.flow_id))[1:5] as ids, min(f.start_at) as first_at, max(f.end_at) as last_at
        from an_flows as f
        where f.src_ip = p.src_ip and f.is_initiator and f.start_at >= p.window_start_at and f.start_at < p.window_end_at
    ) as seen
    where h.port_scan_hours >= getvariable('port_scan_min_history_hours')
),

-- New talkers: the pairs of the hour not seen in the look-back; a scanner's new pairs are its scan's evidence, not findings of their own.
scanners as (
    select src_ip from host_sweep
    union
    select src_ip from fan_out
    union
    select src_ip from port_scan
),

new_pairs as (
    select t.*
    from an_talker_pairs_hourly as t
    cross join history as h
    where t.hour_at = getvariable('hour_start')
        and h.new_talker_hours >= getvariable('new_talker_min_history_hours')
        and t.src_ip not in (select src_ip from scanners)
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

new_talker as (
    select
        'new_talker' as kind,
        n.src_key as subject,
        min(n.src_ip) as src_ip,
        arg_min(n.dst_ip, (n.first_seen_at, n.dst_ip)) as dst_ip,
        arg_min(n.dst_port, (n.first_seen_at, n.dst_ip)) as dst_port,
        arg_min(n.dst_segment, (n.first_seen_at, n.dst_ip)) as dst_segment,
        arg_min(n.protocol, (n.first_seen_at, n.dst_ip)) as protocol,
        min(n.first_seen_at) as window_start_at,
        getvariable('hour_end') as window_end_at,
        cast(count(*) as double) as observed,
        0.0 as baseline,
        cast(getvariable('new_talker_lookback_days') as double) as threshold,
        cast(count(*) as double) as score,
        sum(n.flow_count) as flow_count,
        sum(n.bytes) as bytes,
        list_sort(flatten(list(n.sample_flow_ids)))[1:5] as sample_flow_ids,
        count(distinct n.dst_key) as distinct_hosts,
        count(distinct n.dst_port) as distinct_ports,
        min(n.first_seen_at) as first_seen_at,
        max(n.last_seen_at) as last_seen_at,
        count(*) as member_count,
        any_value(h.new_talker_hours) as history_hours,
        json_object(
            'lookback_days', getvariable('new_talker_lookback_days'),
            'history_hours', any_value(h.new_talker_hours),
            'new_pairs', count(*),
            'distinct_hosts', count(distinct n.dst_key),
            'distinct_ports', count(distinct n.dst_port),
            'bytes', sum(n.bytes),
            'first_seen_at', min(n.first_seen_at),
            'last_seen_at', max(n.last_seen_at),
            'pairs', list(json_object('dst', n.dst_key, 'dst_port', n.dst_port, 'protocol', n.protocol, 'first_seen_at', n.first_seen_at, 'flow_count', n.flow_count) order by n.first_seen_at, n.dst_key, n.dst_port)[1:getvariable('new_talker_max_listed_pairs')]
        ) as evidence,
        case when n.src_key = 'internet' then 'medium' else 'low' end as severity
    from new_pairs as n
    cross join history as h
    group by n.src_key
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

volume_spikes as (
    select *
    from volume_scored
    where z >= getvariable('volume_z_threshold')
        and bytes >= getvariable('volume_min_bytes')
        and bytes >= getvariable('volume_min_ratio') * median
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
        distinct_hosts,
        distinct_ports,
        first_seen_at,
        last_seen_at,
        len(points) as member_count,
        (select volume_hours from history) as history_hours,
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
            'min_ratio', getvariable('volume_min_ratio'),
            'distinct_hosts', distinct_hosts,
            'distinct_ports', distinct_ports,
            'first_seen_at', first_seen_at,
            'last_seen_at', last_seen_at
        ) as evidence,
        case when z >= 2 * getvariable('volume_z_threshold') then 'medium' else 'low' end as severity,
        src_segment as spike_src_segment,
        src_vm_id as spike_src_vm_id,
        src_vm_name as spike_src_vm_name
    from volume_spikes as v
    -- A VM's spike explains its segment pair's: one event, one finding.
    where scope = 'source'
        or not exists (select 1 from volume_spikes as vm where vm.scope = 'source' and vm.src_segment = v.src_segment)
),

-- Slow exfiltration: an internal source's bytes to one public address it had not reached before, summed over the trailing hours, reported in the first hour the sum qualifies.
exfil_pairs as (
    select
        e.src_ip,
        e.dst_ip,
        any_value(e.src_vm_id) as src_vm_id,
        any_value(e.src_vm_name) as src_vm_name,
        any_value(e.src_segment) as src_segment,
        sum(e.bytes) filter (where e.hour_at > getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as bytes_now,
        count(*) filter (where e.hour_at > getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as hours_now,
        coalesce(sum(e.bytes) filter (where e.hour_at >= getvariable('hour_start') - to_hours(getvariable('exfil_window_hours')) and e.hour_at < getvariable('hour_start')), 0) as bytes_before,
        count(*) filter (where e.hour_at >= getvariable('hour_start') - to_hours(getvariable('exfil_window_hours')) and e.hour_at < getvariable('hour_start')) as hours_before,
        count(*) filter (where e.hour_at <= getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as hours_earlier,
        bool_or(e.hour_at = getvariable('hour_start')) as active_now,
        sum(e.flow_count) filter (where e.hour_at > getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as flow_count,
        min(e.first_seen_at) filter (where e.hour_at > getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as first_seen_at,
        max(e.last_seen_at) as last_seen_at,
        list_sort(flatten(list(e.dst_ports)))[1:10] as dst_ports,
        list_sort(flatten(list(e.sample_flow_ids)))[1:5] as sample_flow_ids,
        list(json_object('hour', strftime(e.hour_at, '%Y-%m-%dT%H'), 'bytes', e.bytes) order by e.hour_at) filter (where e.hour_at > getvariable('hour_start') - to_hours(getvariable('exfil_window_hours'))) as hourly
    from an_egress_pairs_hourly as e
    where e.hour_at <= getvariable('hour_start')
        and e.hour_at >= getvariable('hour_start') - to_hours(getvariable('exfil_window_hours')) - to_days(getvariable('exfil_lookback_days'))
    group by e.src_ip, e.dst_ip
),

slow_exfiltration as (
    select
        'slow_exfiltration' as kind,
        concat(x.src_ip, ' -> ', x.dst_ip) as subject,
        x.src_ip,
        x.src_vm_id,
        x.src_vm_name,
        x.src_segment,
        x.dst_ip,
        cast(null as integer) as dst_port,
        'internet' as dst_segment,
        cast(null as integer) as protocol,
        getvariable('hour_start') - to_hours(getvariable('exfil_window_hours') - 1) as window_start_at,
        getvariable('hour_end') as window_end_at,
        cast(x.bytes_now as double) as observed,
        0.0 as baseline,
        cast(getvariable('exfil_min_bytes') as double) as threshold,
        x.bytes_now / getvariable('exfil_min_bytes') as score,
        x.flow_count,
        x.bytes_now as bytes,
        x.sample_flow_ids,
        1 as distinct_hosts,
        len(list_distinct(x.dst_ports)) as distinct_ports,
        x.first_seen_at,
        x.last_seen_at,
        x.hours_now as member_count,
        h.exfil_hours as history_hours,
        json_object(
            'window_hours', getvariable('exfil_window_hours'),
            'bytes', x.bytes_now,
            'active_hours', x.hours_now,
            'min_bytes', getvariable('exfil_min_bytes'),
            'min_active_hours', getvariable('exfil_min_active_hours'),
            'lookback_days', getvariable('exfil_lookback_days'),
            'baseline', 'address not reached by the source in the look-back',
            'history_hours', h.exfil_hours,
            'dst_ports', x.dst_ports,
            'hourly', x.hourly,
            'first_seen_at', x.first_seen_at,
            'last_seen_at', x.last_seen_at
        ) as evidence,
        'high' as severity
    from exfil_pairs as x
    cross join history as h
    where h.exfil_hours >= getvariable('exfil_min_history_hours')
        and x.active_now
        and x.hours_earlier = 0
        and x.bytes_now >= getvariable('exfil_min_bytes')
        and x.hours_now >= getvariable('exfil_min_active_hours')
        and not (x.bytes_before >= getvariable('exfil_min_bytes') and x.hours_before >= getvariable('exfil_min_active_hours'))
),

unioned as (
    select f.*, s.src_vm_id, s.src_vm_name, s.src_segment
    from (
        select * from fan_out
        union all by name select * from host_sweep
        union all by name select * from port_scan
        union all by name select * from new_talker
    ) as f
    left join hour_sources as s on s.src_ip = f.src_ip
    union all by name
    select * exclude (spike_src_segment, spike_src_vm_id, spike_src_vm_name),
        spike_src_vm_id as src_vm_id, spike_src_vm_name as src_vm_name, spike_src_segment as src_segment
    from volume_spike
    union all by name
    select * from slow_exfiltration
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
    getvariable('run_id') as run_id,
    cast(distinct_hosts as bigint) as distinct_hosts,
    cast(distinct_ports as bigint) as distinct_ports,
    first_seen_at,
    last_seen_at,
    cast(member_count as bigint) as member_count,
    cast(history_hours as bigint) as history_hours
from unioned
