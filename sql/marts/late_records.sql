-- grain: one row per flow record of another hour that no run of that hour will publish, routed by this run
-- keys: raw_object_key, raw_offset
-- upstream: all_sources__records, stg_object_routing
-- materialized: table
-- tests: not_null(event_hour_at, reason, flow_id, raw_object_key, raw_offset, object_delivered_at); unique(raw_object_key, raw_offset); accepted_values(reason: beyond_lookback, beyond_lateness)
--
-- stg_object_routing (lib/sources/late-objects.ts) says, per staged object, for which hours this
-- run speaks: `late_hours`, the hours past the rescan look-back for which this object version is
-- new (no published run of the hour read it, no other run routed it), and `routes_orphans`, whether
-- this run owns the object's records of hours whose delivery window does not hold the object at all
-- (no run of those hours ever reads it; the last hour whose window holds the object owns them, so
-- they are routed once). Records at or before `after_offset` were read from an earlier version of
-- the object. The partition is this run's hour, so a closed hour is never rewritten.
with

routing as (
    select * from stg_object_routing
),

other_hours as (
    select
        *,
        date_trunc('hour', start_at) as event_hour_at
    from all_sources__records
    where record_status = 'flow'
        and (start_at < getvariable('hour_start') or start_at >= getvariable('hour_end'))
),

routed as (
    select
        r.*,
        o.etag as object_etag,
        o.delivered_at as object_delivered_at,
        case when list_contains(o.late_hours, r.event_hour_at) then 'beyond_lookback' else 'beyond_lateness' end as reason
    from other_hours as r
    inner join routing as o on r.raw_object_key = o.object_key
    where r.raw_offset > o.after_offset
        and (
            list_contains(o.late_hours, r.event_hour_at)
            or (o.routes_orphans and not list_contains(o.window_hours, r.event_hour_at))
        )
)

select
    getvariable('hour_start') as run_hour_at,
    event_hour_at,
    reason,
    flow_id_of(source_type, raw_object_key, raw_offset) as flow_id,
    start_at,
    end_at,
    source_type,
    src_ip,
    src_port,
    dst_ip,
    dst_port,
    protocol,
    direction,
    action,
    packets,
    bytes,
    observer_vm_id,
    interface_id,
    account_id,
    raw_object_key,
    raw_offset,
    object_etag,
    object_delivered_at,
    cast(epoch(object_delivered_at) - epoch(event_hour_at + interval 1 hour) as bigint) as delivery_delay_s,
    getvariable('run_id') as run_id
from routed
