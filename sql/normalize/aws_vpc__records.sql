-- grain: one row per staged (non-blank) record of an AWS VPC Flow Logs object (text or Parquet); header lines excluded
-- keys: raw_object_key, raw_offset
-- upstream: aws_vpc__parsed_records, stg_typed__aws_vpc, stg_objects
-- materialized: view
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, nodata, skipdata, invalid)
--
-- Two paths, one result: staging types the plain records as it reads them (stg_typed__aws_vpc,
-- Parquet files: lib/sources/aws-vpc-line-typer.ts, valid flows by every check of
-- aws_vpc__parsed_records, about 7 CPU µs a line cheaper than splitting and checking them in SQL);
-- every other line is parsed and checked by aws_vpc__parsed_records, which gives the reasons for
-- refusing one. A seeded test holds the two paths equal.
--
-- A view: the typed files are read by each model that reads this one, with the columns it needs,
-- instead of being copied into one more file of every column first (at a million flows, writing
-- that file cost more CPU than all the scans of the typed files together).
with

typed_records as (
    select
        'aws_vpc' as source_type,
        o.object_key as raw_object_key,
        t.line_no as raw_offset,
        'flow' as record_status,
        cast(null as varchar) as invalid_reason,
        cast(null as varchar) as raw_text,
        make_timestamp(t.start_epoch_s * 1000000) as start_at,
        make_timestamp(t.end_epoch_s * 1000000) as end_at,
        cast(null as varchar) as observer_vm_id,
        coalesce(t.region, o.region_hint) as region,
        true as counts_in_totals,
        -- Staging types only records of formats with start and end.
        false as is_delivery_window,
        -- As the log writes it (ACCEPT, REJECT): the typed row is the line as it stands.
        lower(t.action) as action,
        t.* exclude (object_idx, line_no, start_epoch_s, end_epoch_s, region, action)
    from stg_typed__aws_vpc as t
    inner join stg_objects as o on t.object_idx = o.object_idx
)

select * from aws_vpc__parsed_records
union all by name
select * from typed_records
