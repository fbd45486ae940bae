-- grain: one row per distinct address seen at either end of a flow of the hour
-- keys: ip
-- upstream: endpoint_addresses, endpoint_vms, endpoint_ranges
-- materialized: table
-- tests: not_null(ip, is_public, tags, threat_lists); unique(ip)
--
-- Everything known about an address, computed once per address: flows_enriched then needs one
-- join per end instead of one per attribute source, and no per-flow list work.
select
    a.ip,
    a.is_public,
    v.vm_id,
    v.vm_name,
    v.account_id,
    coalesce(v.segment, r.segment, case when a.is_public then 'internet' end) as segment,
    list_sort(list_distinct(list_concat(coalesce(v.tags, []), coalesce(r.tags, [])))) as tags,
    r.cidr,
    r.range_name,
    cast([] as varchar[]) as threat_lists
from endpoint_addresses as a
left join endpoint_vms as v on a.ip = v.ip
left join endpoint_ranges as r on a.ip = r.ip
