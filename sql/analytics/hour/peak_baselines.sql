-- grain: one row per (detector, source address) active in the event hour: its own past hourly peaks within the detector's look-back
-- keys: detector, src_ip
-- upstream: an_host_sweep_hourly, an_fan_out_hourly
-- materialized: table
-- tests: not_null(detector, src_ip, baseline_hours); unique(detector, src_ip); accepted_values(detector: host_sweep, fan_out)
-- The detectors that compare a source with itself (horizontal scans: the busiest port's hosts;
-- fan-out: the busiest window's hosts) share one baseline: the 95th percentile, the maximum and
-- the number of the source's past hours. A source without past hours has a NULL baseline.
with

peaks as (
    select 'host_sweep' as detector, src_ip, hour_at, hosts as peak, getvariable('host_sweep_baseline_days') as baseline_days
    from an_host_sweep_hourly
    union all
    select 'fan_out' as detector, src_ip, hour_at, destinations as peak, getvariable('fan_out_baseline_days') as baseline_days
    from an_fan_out_hourly
),

baselines as (
    select
        cur.detector,
        cur.src_ip,
        quantile_cont(past.peak, 0.95) as baseline,
        count(past.hour_at) as baseline_hours,
        max(past.peak) as baseline_max
    from peaks as cur
    left join peaks as past
        on past.detector = cur.detector
        and past.src_ip = cur.src_ip
        and past.hour_at >= cur.hour_at - to_days(cur.baseline_days)
        and past.hour_at < cur.hour_at
    where cur.hour_at = getvariable('hour_start')
    group by cur.detector, cur.src_ip
)

select * from baselines
