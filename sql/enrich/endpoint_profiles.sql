-- grain: one row per (address seen at either end of a flow of the hour that a VM, a range or a threat list names, inventory epoch of the hour)
-- keys: ip, epoch
-- upstream: endpoint_addresses, inventory_epochs_in_hour, endpoint_vms, endpoint_ranges, endpoint_threats
-- materialized: table
-- tests: not_null(ip, epoch, valid_from, valid_to, is_public, tags, threat_lists); unique(ip, epoch)
--
-- Everything known about an address, computed once per address and epoch: flows_enriched then
-- needs one join per end instead of one per attribute source, and no per-flow list work. Only
-- addresses something is known about get a row: the rest (most internet addresses: 99.7 % of
-- the bench's) take flows_enriched's defaults, which keeps the join's hash tables small however
-- many addresses an hour sees (at 5 million flows, 3 million profiles did not fit in 1.5 GB).
select
    a.ip,
    e.epoch,
    e.valid_from,
    e.valid_to,
    a.is_public,
    v.vm_id,
    v.vm_name,
    v.account_id,
    coalesce(v.segment, r.segment, case when a.is_public then 'internet' end) as segment,
    list_sort(list_distinct(list_concat(coalesce(v.tags, []), coalesce(r.tags, [])))) as tags,
    r.cidr,
    r.range_name,
    coalesce(t.threat_lists, cast([] as varchar[])) as threat_lists
from endpoint_addresses as a
cross join inventory_epochs_in_hour as e
left join endpoint_vms as v on a.ip = v.ip and e.epoch = v.epoch
left join endpoint_ranges as r on a.ip = r.ip
left join endpoint_threats as t on a.ip = t.ip
where v.vm_id is not null or r.cidr is not null or t.threat_lists is not null
