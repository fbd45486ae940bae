-- grain: one row per flow of the hour, with both ends enriched
-- keys: flow_id
-- upstream: flows_in_hour, endpoint_addresses, endpoint_ranges, endpoint_vms, ref_vm_addresses
-- materialized: table
-- tests: not_null(flow_id, src_is_public, dst_is_public); unique(flow_id)
with

interface_owners as (
    select distinct interface_id, vm_id from ref_vm_addresses
),

observed as (
    select
        f.* exclude (observer_vm_id),
        coalesce(f.observer_vm_id, io.vm_id) as observer_vm_id
    from flows_in_hour as f
    left join interface_owners as io on f.interface_id = io.interface_id
)

select
    f.* exclude (direction),
    -- Sources that do not log a direction (AWS before version 5) get it from which end is the observer.
    coalesce(
        f.direction,
        case
            when f.observer_vm_id is null then null
            when dv.vm_id = f.observer_vm_id then 'ingress'
            when sv.vm_id = f.observer_vm_id then 'egress'
        end
    ) as direction,
    sv.vm_id as src_vm_id,
    sv.vm_name as src_vm_name,
    sv.account_id as src_account_id,
    coalesce(sv.segment, sr.segment, case when sa.is_public then 'internet' end) as src_segment,
    list_sort(list_distinct(list_concat(coalesce(sv.tags, []), coalesce(sr.tags, [])))) as src_tags,
    sr.cidr as src_cidr,
    sr.range_name as src_range_name,
    sa.is_public as src_is_public,
    cast([] as varchar[]) as src_threat_lists,
    dv.vm_id as dst_vm_id,
    dv.vm_name as dst_vm_name,
    dv.account_id as dst_account_id,
    coalesce(dv.segment, dr.segment, case when da.is_public then 'internet' end) as dst_segment,
    list_sort(list_distinct(list_concat(coalesce(dv.tags, []), coalesce(dr.tags, [])))) as dst_tags,
    dr.cidr as dst_cidr,
    dr.range_name as dst_range_name,
    da.is_public as dst_is_public,
    cast([] as varchar[]) as dst_threat_lists
from observed as f
inner join endpoint_addresses as sa on f.src_ip = sa.ip
inner join endpoint_addresses as da on f.dst_ip = da.ip
left join endpoint_vms as sv on f.src_ip = sv.ip
left join endpoint_vms as dv on f.dst_ip = dv.ip
left join endpoint_ranges as sr on f.src_ip = sr.ip
left join endpoint_ranges as dr on f.dst_ip = dr.ip
