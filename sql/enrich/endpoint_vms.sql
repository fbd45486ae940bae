-- grain: one row per address of the hour that belongs to a VM of the inventory
-- keys: ip
-- upstream: endpoint_addresses, ref_vm_addresses, ref_vms
-- materialized: table
-- tests: not_null(ip, vm_id); unique(ip)
select
    a.ip,
    v.vm_id,
    v.vm_name,
    v.account_id,
    v.segment,
    v.tags
from endpoint_addresses as a
inner join ref_vm_addresses as va on a.ip = va.ip
inner join ref_vms as v on va.vm_id = v.vm_id
