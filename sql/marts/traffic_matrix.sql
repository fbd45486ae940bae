-- grain: one row per (dimension, source group, destination group) for the event hour
-- keys: dimension, src_group, dst_group
-- upstream: flows
-- materialized: table
-- tests: not_null(dimension, src_group, dst_group, flows); unique(dimension, src_group, dst_group); accepted_values(dimension: segment, tag)
with

by_segment as (
    select
        'segment' as dimension,
        coalesce(src_segment, 'unknown') as src_group,
        coalesce(dst_segment, 'unknown') as dst_group,
        packets, bytes, action, verdict
    from flows
),

by_tag as (
    select
        'tag' as dimension,
        src_group,
        dst_group,
        packets, bytes, action, verdict
    from flows,
        unnest(case when len(src_tags) = 0 then ['untagged'] else src_tags end) as s(src_group),
        unnest(case when len(dst_tags) = 0 then ['untagged'] else dst_tags end) as d(dst_group)
),

unioned as (
    select * from by_segment
    union all
    select * from by_tag
)

select
    getvariable('hour_start') as hour_at,
    dimension,
    src_group,
    dst_group,
    count(*) as flows,
    sum(packets) as packets,
    sum(bytes) as bytes,
    count(*) filter (where action = 'reject') as rejected_flows,
    count(*) filter (where verdict = 'non_conformant') as non_conformant_flows,
    getvariable('run_id') as run_id
from unioned
group by dimension, src_group, dst_group
