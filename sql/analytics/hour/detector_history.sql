-- grain: one row: the published hours before the event hour within each detector's look-back
-- keys: (one row)
-- upstream: an_hours
-- materialized: table
-- tests: not_null(fan_out_hours, host_sweep_hours, port_scan_hours, new_talker_hours, volume_hours, exfil_hours)
-- A detector with fewer hours than its min_history_hours reports nothing (cold start); the job names it.
-- The volume detector's history is the same hour of past days (its min_points).
select
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('fan_out_baseline_days'))) as fan_out_hours,
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('host_sweep_baseline_days'))) as host_sweep_hours,
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('new_talker_lookback_days'))) as port_scan_hours,
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('new_talker_lookback_days'))) as new_talker_hours,
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('volume_baseline_days')) and hour(hour_at) = hour(getvariable('hour_start'))) as volume_hours,
    count(*) filter (where hour_at >= getvariable('hour_start') - to_days(getvariable('exfil_lookback_days'))) as exfil_hours
from an_hours
where hour_at < getvariable('hour_start')
