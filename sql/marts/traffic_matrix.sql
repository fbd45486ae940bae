-- grain: one row per (dimension, source group, destination group) for the event hour
-- keys: dimension, src_group, dst_group
-- upstream: flows
-- materialized: table
-- tests: not_null(dimension, src_group, dst_group, flows); unique(dimension, src_group, dst_group); accepted_values(dimension: segment, tag)
with

-- Read from the flows mart's Parquet file (written once, with each flow's verdict): only the
-- columns below are decoded, and the enrichment joins do not run again. Grouped to distinct
-- endpoint groups first (a few hundred rows, not one per flow) before tags are unnested.
-- Traffic reported twice (GCP SRC and DEST, Azure NSG and VNet logs of one NIC) counts once.
-- A record that also counts its destination's answer (Azure NSG version 2 and VNet tuples:
-- reverse_packets, reverse_bytes) adds that traffic to the opposite pair, where the answer of a
-- source that logs each direction as its own record (AWS, the agent) lands; it is no flow of its
-- own there (flows 0), as the answer is no record of its own.
per_flow as (
    select
        src_segment, dst_segment, src_tags, dst_tags,
        -- An AWS custom format without counters has none (NULL): its flow counts, its bytes cannot.
        1 as flows, coalesce(packets, 0) as packets, coalesce(bytes, 0) as bytes,
        (action is not distinct from 'reject')::integer as rejected_flows,
        (verdict = 'non_conformant')::integer as non_conformant_flows
    from flows
    where counts_in_totals
    union all
    select
        dst_segment, src_segment, dst_tags, src_tags,
        0 as flows, coalesce(reverse_packets, 0) as packets, coalesce(reverse_bytes, 0) as bytes,
        0 as rejected_flows,
        0 as non_conformant_flows
    from flows
    -- One column's filter (an answer has bytes when it has packets): DuckDB skips the row groups
    -- whose statistics hold no answer (every row group of a source without reverse counters).
    where counts_in_totals and reverse_bytes > 0
),

grouped as (
    select
        coalesce(src_segment, 'unknown') as src_segment,
        coalesce(dst_segment, 'unknown') as dst_segment,
        case when len(src_tags) = 0 then ['untagged'] else src_tags end as src_tags,
        case when len(dst_tags) = 0 then ['untagged'] else dst_tags end as dst_tags,
        sum(flows) as flows,
        sum(packets) as packets,
        sum(bytes) as bytes,
        sum(rejected_flows) as rejected_flows,
        sum(non_conformant_flows) as non_conformant_flows
    from per_flow
    group by all
),

unioned as (
    select 'segment' as dimension, src_segment as src_group, dst_segment as dst_group, flows, packets, bytes, rejected_flows, non_conformant_flows
    from grouped
    union all
    select 'tag' as dimension, s.src_group, d.dst_group, flows, packets, bytes, rejected_flows, non_conformant_flows
    from grouped, unnest(src_tags) as s(src_group), unnest(dst_tags) as d(dst_group)
)

select
    getvariable('hour_start') as hour_at,
    dimension,
    src_group,
    dst_group,
    sum(flows) as flows,
    sum(packets) as packets,
    sum(bytes) as bytes,
    sum(rejected_flows) as rejected_flows,
    sum(non_conformant_flows) as non_conformant_flows,
    getvariable('run_id') as run_id
from unioned
group by dimension, src_group, dst_group
