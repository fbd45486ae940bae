-- grain: one row per VM and per segment pair with traffic in the event hour
-- keys: scope, entity_id
-- upstream: an_flows, an_vm_capacity, an_link_capacity
-- materialized: table
-- tests: not_null(scope, entity_id, p95_mbps, max_mbps, status); unique(scope, entity_id); accepted_values(scope: vm, segment_pair); accepted_values(status: ok, warning, critical, unknown)
-- Each record's bytes are spread evenly over its start..end (a record with no duration lands in
-- its start minute), so a 10-minute AWS record does not look like a 1-minute burst. Records that
-- started in the previous hour contribute the minutes they reach into this one.
with

records as (
    select *
    from an_flows
    -- Capacity needs bytes: an AWS custom format without them (and with the delivery's times) has none to spread.
    where bytes is not null
        and start_at < getvariable('hour_end')
        and end_at >= getvariable('hour_start')
        and start_at >= getvariable('hour_start') - interval 2 hour
),

spread as (
    select
        r.*,
        m.minute_at as at_minute,
        case
            when r.end_at <= r.start_at then (case when m.minute_at = date_trunc('minute', r.start_at) then 1 else 0 end)
            else greatest(0, epoch(least(r.end_at, m.minute_at + interval 1 minute)) - epoch(greatest(r.start_at, m.minute_at)))
                / (epoch(r.end_at) - epoch(r.start_at))
        end as minute_share,
        r.bytes * minute_share as minute_bytes,
        -- The destination's answer, where the record counts it too (Azure): traffic the other way.
        r.reverse_bytes * minute_share as minute_reverse_bytes
    from records as r,
        unnest(generate_series(
            greatest(date_trunc('minute', r.start_at), getvariable('hour_start')),
            least(date_trunc('minute', r.end_at), getvariable('hour_end') - interval 1 minute),
            interval 1 minute
        )) as m(minute_at)
),

-- A VM's throughput is what it observed itself (its agent, or the flow logs of its interfaces);
-- when both observe it, the source that saw more bytes in the hour counts, not both.
vm_sides as (
    select observer_vm_id as vm_id, source_type, at_minute,
        -- Into the VM: what it received, and the answers to what it sent; out of it, the other way.
        coalesce(sum(minute_bytes) filter (where dst_vm_id = observer_vm_id), 0) + coalesce(sum(minute_reverse_bytes) filter (where src_vm_id = observer_vm_id), 0) as bytes_in,
        coalesce(sum(minute_bytes) filter (where src_vm_id = observer_vm_id), 0) + coalesce(sum(minute_reverse_bytes) filter (where dst_vm_id = observer_vm_id), 0) as bytes_out
    from spread
    where observer_vm_id is not null
    group by all
),

vm_best_source as (
    select vm_id, arg_max(source_type, (total, source_type)) as source_type
    from (select vm_id, source_type, sum(coalesce(bytes_in, 0) + coalesce(bytes_out, 0)) as total from vm_sides group by all)
    group by vm_id
),

vm_minutes as (
    select s.vm_id, s.at_minute, coalesce(s.bytes_in, 0) as bytes_in, coalesce(s.bytes_out, 0) as bytes_out
    from vm_sides as s
    inner join vm_best_source as b on b.vm_id = s.vm_id and b.source_type = s.source_type
),

-- A segment pair counts each connection once: the record that counts it in totals
-- (enrich/connection_observations.sql). A VM's own throughput above keeps every observation of it.
counted_once as (
    select *
    from spread
    where counts_in_totals
),

-- A record's answer (Azure's reverse counters) is traffic of the opposite pair.
pair_minutes as (
    select src_segment, dst_segment, at_minute, sum(bytes) as bytes_in, 0 as bytes_out
    from (
        select coalesce(src_segment, 'unknown') as src_segment, coalesce(dst_segment, 'unknown') as dst_segment, at_minute, minute_bytes as bytes
        from counted_once
        union all
        select coalesce(dst_segment, 'unknown'), coalesce(src_segment, 'unknown'), at_minute, minute_reverse_bytes
        from counted_once
        where minute_reverse_bytes > 0
    )
    group by all
),

entities as (
    select 'vm' as scope, vm_id as entity_id, vm_id, at_minute, bytes_in, bytes_out, cast(null as varchar) as pair_src, cast(null as varchar) as pair_dst
    from vm_minutes
    union all
    select 'segment_pair', concat(src_segment, ' -> ', dst_segment), null, at_minute, bytes_in, bytes_out, src_segment, dst_segment
    from pair_minutes
),

grid as (
    select e.scope, e.entity_id, any_value(e.vm_id) as vm_id, any_value(e.pair_src) as pair_src, any_value(e.pair_dst) as pair_dst
    from entities as e
    group by e.scope, e.entity_id
),

minutes as (
    select unnest(generate_series(getvariable('hour_start'), getvariable('hour_end') - interval 1 minute, interval 1 minute)) as at_minute
),

series as (
    select
        g.scope,
        g.entity_id,
        g.vm_id,
        g.pair_src,
        g.pair_dst,
        m.at_minute,
        coalesce(sum(e.bytes_in), 0) as bytes_in,
        coalesce(sum(e.bytes_out), 0) as bytes_out
    from grid as g
    cross join minutes as m
    left join entities as e on e.scope = g.scope and e.entity_id = g.entity_id and e.at_minute = m.at_minute
    group by all
),

rated as (
    select *, greatest(bytes_in, bytes_out) * 8 / 60 / 1e6 as rate_mbps
    from series
),

hourly as (
    select
        scope,
        entity_id,
        any_value(vm_id) as vm_id,
        any_value(pair_src) as pair_src,
        any_value(pair_dst) as pair_dst,
        count(*) filter (where bytes_in + bytes_out > 0) as active_minutes,
        round(sum(bytes_in + bytes_out)) as bytes,
        round(sum(bytes_in)) as bytes_in,
        round(sum(bytes_out)) as bytes_out,
        avg(rate_mbps) as avg_mbps,
        quantile_cont(rate_mbps, 0.95) as p95_mbps,
        max(rate_mbps) as max_mbps,
        arg_max(at_minute, (rate_mbps, -epoch(at_minute))) as peak_minute_at
    from rated
    group by scope, entity_id
),

segment_capacity as (
    select segment, sum(capacity_mbps) as capacity_mbps from an_vm_capacity group by segment
),

capacities as (
    select
        h.*,
        v.vm_name,
        case when h.scope = 'vm' then v.segment else h.pair_src end as src_segment,
        case
            when h.scope = 'vm' then v.capacity_mbps
            else coalesce(
                l.capacity_mbps,
                case
                    when s.capacity_mbps is null then d.capacity_mbps
                    when d.capacity_mbps is null then s.capacity_mbps
                    else least(s.capacity_mbps, d.capacity_mbps)
                end
            )
        end as capacity_mbps
    from hourly as h
    left join an_vm_capacity as v on h.scope = 'vm' and v.vm_id = h.vm_id
    left join an_link_capacity as l on h.scope = 'segment_pair' and l.src_segment = h.pair_src and l.dst_segment = h.pair_dst
    left join segment_capacity as s on h.scope = 'segment_pair' and s.segment = h.pair_src
    left join segment_capacity as d on h.scope = 'segment_pair' and d.segment = h.pair_dst
)

select
    getvariable('hour_start') as hour_at,
    scope,
    entity_id,
    vm_id,
    vm_name,
    src_segment,
    pair_dst as dst_segment,
    capacity_mbps,
    active_minutes,
    bytes,
    case when scope = 'vm' then bytes_in else bytes end as bytes_in,
    case when scope = 'vm' then bytes_out else 0 end as bytes_out,
    avg_mbps,
    p95_mbps,
    max_mbps,
    peak_minute_at,
    p95_mbps / capacity_mbps as utilization,
    case
        when capacity_mbps is null then 'unknown'
        when p95_mbps / capacity_mbps >= getvariable('capacity_critical') then 'critical'
        when p95_mbps / capacity_mbps >= getvariable('capacity_warning') then 'warning'
        else 'ok'
    end as status,
    getvariable('run_id') as run_id
from capacities
