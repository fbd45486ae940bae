-- grain: one row per flow of the hour, with both ends enriched, before its connection is merged with other observers' records
-- keys: source_type, raw_object_key, raw_offset
-- upstream: flows_in_hour, endpoint_profiles, inventory_epochs_in_hour, ref_vm_address_snapshots, ref_vm_snapshots
-- materialized: view
--
-- Everything about a flow that its own record and the reference data decide; what needs the
-- whole hour (which of a connection's observations counts in totals) is flows_enriched's join
-- with connection_observations. This is the cut where an hour split across shard workers
-- (lib/scale-out) stops: each shard writes this relation for its objects, and the commit runs
-- flows_enriched and everything after it over the union of the shards' rows.
--
-- No data tests here: each would run the joins again. The flows table's contract (schemas/
-- tables/flows.ts: non-nullable columns, direction and action values) is checked on the written
-- file by the export, which reads each column once.
--
-- A view, read once, by flows_enriched and so by the flows mart (lib/rules/compile-rules.ts), which
-- checks every rule in that scan and is written as the Parquet file the job publishes; the rules'
-- other readers (rule_violations, the traffic matrix) read that file. Each end joins the profile of its address in the
-- epoch in force at the flow's start: a hash join on the address, the time window checked on the
-- (one or two) candidates it finds. An address without a profile (nothing known about it) gets
-- the defaults: no VM, range or tags, 'internet' if public. The joins are written probe side first (the flows) and
-- build side last (the profiles): the ETL session plans joins as written (lib/duckdb), as the
-- optimizer's row estimates for the filtered flows are far too low and it would otherwise build
-- its hash tables from the flows. No flow_id (flows_in_hour has none): the flows mart computes it for the
-- rows it writes. observed_by is the record's own observation point until flows_enriched merges it.
with

-- The VM each observing point belongs to in the inventory in force (sql/macros/61_observer_key.sql):
-- an AWS ENI or OCI VNIC by its id, an Azure NIC by its MAC, a GCE instance by project and name.
-- The agent names its VM itself.
observer_owners as (
    select distinct o.observer_key, o.vm_id, e.valid_from, e.valid_to
    from (
        select epoch, interface_id as observer_key, vm_id from ref_vm_address_snapshots
        union all
        select epoch, mac_key(mac), vm_id from ref_vm_address_snapshots where mac is not null
        union all
        select epoch, gce_key(account_id, vm_name), vm_id from ref_vm_snapshots
    ) as o
    inner join inventory_epochs_in_hour as e on o.epoch = e.epoch
)

select
    f.* exclude (observer_vm_id, direction, src_ip_is_public, dst_ip_is_public, counts_in_totals),
    f.counts_in_totals,
    [observer_point(f.source_type, f.observer_vm_id, f.interface_id, f.mac_address, f.reporter, f.instance_id, f.subnet_id, f.tgw_attachment_id, f.resource_id, f.raw_object_key)] as observed_by,
    coalesce(f.observer_vm_id, io.vm_id) as observer_vm_id,
    -- Sources that do not log a direction (AWS before version 5) get it from which end is the observer.
    coalesce(
        f.direction,
        case
            when coalesce(f.observer_vm_id, io.vm_id) is null then null
            when d.vm_id = coalesce(f.observer_vm_id, io.vm_id) then 'ingress'
            when s.vm_id = coalesce(f.observer_vm_id, io.vm_id) then 'egress'
        end
    ) as direction,
    s.vm_id as src_vm_id,
    s.vm_name as src_vm_name,
    s.account_id as src_account_id,
    coalesce(s.segment, case when coalesce(s.is_public, f.src_ip_is_public) then 'internet' end) as src_segment,
    coalesce(s.tags, cast([] as varchar[])) as src_tags,
    s.cidr as src_cidr,
    s.range_name as src_range_name,
    coalesce(s.is_public, f.src_ip_is_public) as src_is_public,
    coalesce(s.threat_lists, cast([] as varchar[])) as src_threat_lists,
    d.vm_id as dst_vm_id,
    d.vm_name as dst_vm_name,
    d.account_id as dst_account_id,
    coalesce(d.segment, case when coalesce(d.is_public, f.dst_ip_is_public) then 'internet' end) as dst_segment,
    coalesce(d.tags, cast([] as varchar[])) as dst_tags,
    d.cidr as dst_cidr,
    d.range_name as dst_range_name,
    coalesce(d.is_public, f.dst_ip_is_public) as dst_is_public,
    coalesce(d.threat_lists, cast([] as varchar[])) as dst_threat_lists
from flows_in_hour as f
left join endpoint_profiles as s
    on f.src_ip = s.ip and f.start_at >= s.valid_from and f.start_at < s.valid_to
left join endpoint_profiles as d
    on f.dst_ip = d.ip and f.start_at >= d.valid_from and f.start_at < d.valid_to
left join observer_owners as io
    on observer_key(f.source_type, f.interface_id, f.mac_address, f.account_id, f.instance_id) = io.observer_key and f.start_at >= io.valid_from and f.start_at < io.valid_to
