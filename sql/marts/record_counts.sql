-- grain: one row per raw object read by the run
-- keys: raw_object_key
-- upstream: stg_objects, all_sources__records, flows_in_hour, stg_rejects, late_records
-- materialized: table
-- tests: not_null(raw_object_key, records_read); unique(raw_object_key)
--
-- Reconciliation: records_read = flows_published + other_hour + late + nodata + skipdata + quarantined.
-- other_hour: records another hour's run publishes or routes; late: records this run routed to late_records.
-- last_offset: the object's highest offset read, what a later version of it is compared with (late_records).
with

parsed as (
    select
        raw_object_key,
        count(*) as records,
        count(*) filter (where record_status = 'flow' and (start_at < getvariable('hour_start') or start_at >= getvariable('hour_end'))) as other_hour,
        count(*) filter (where record_status = 'nodata') as nodata,
        count(*) filter (where record_status = 'skipdata') as skipdata,
        count(*) filter (where record_status = 'invalid') as invalid,
        max(raw_offset) as last_offset
    from all_sources__records
    group by raw_object_key
),

-- The flows of the hour, counted before enrichment: the job checks that the flows export holds
-- exactly this many rows (the enrichment joins keep one row per flow).
published as (
    select raw_object_key, count(*) as flows_published
    from flows_in_hour
    group by raw_object_key
),

rejected as (
    select
        raw_object_key,
        count(*) filter (where raw_offset is not null) as rejected_lines,
        count(*) filter (where raw_offset is null) as object_rejected,
        max(raw_offset) as last_offset
    from stg_rejects
    group by raw_object_key
),

late as (
    select raw_object_key, count(*) as late
    from late_records
    group by raw_object_key
)

select
    o.source_type,
    o.object_key as raw_object_key,
    coalesce(p.records, 0) + coalesce(r.rejected_lines, 0) as records_read,
    coalesce(pub.flows_published, 0) as flows_published,
    coalesce(p.other_hour, 0) - coalesce(l.late, 0) as other_hour,
    coalesce(l.late, 0) as late,
    coalesce(p.nodata, 0) as nodata,
    coalesce(p.skipdata, 0) as skipdata,
    coalesce(p.invalid, 0) + coalesce(r.rejected_lines, 0) as quarantined,
    coalesce(r.object_rejected, 0) > 0 as object_quarantined,
    greatest(p.last_offset, r.last_offset) as last_offset
from stg_objects as o
left join parsed as p on o.object_key = p.raw_object_key
left join published as pub on o.object_key = pub.raw_object_key
left join rejected as r on o.object_key = r.raw_object_key
left join late as l on o.object_key = l.raw_object_key
