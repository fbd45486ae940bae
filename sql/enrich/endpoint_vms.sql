-- grain: one row per (address of the hour, inventory epoch of the hour) where the address belongs to a VM
-- keys: ip, epoch
-- upstream: endpoint_addresses, inventory_epochs_in_hour, ref_vm_address_snapshots, ref_vm_snapshots
-- materialized: table
-- tests: not_null(ip, epoch, vm_id); unique(ip, epoch)
--
-- An address belongs to the VM that held it in the snapshot in force: an address that another VM
-- takes over later is attributed to the new VM only from that later snapshot on.
select distinct
    a.ip,
    e.epoch,
    v.vm_id,
    v.vm_name,
    v.account_id,
    v.segment,
    v.tags
from endpoint_addresses as a
inner join ref_vm_address_snapshots as va on a.ip = va.ip
inner join inventory_epochs_in_hour as e on va.epoch = e.epoch
inner join ref_vm_snapshots as v on va.epoch = v.epoch and va.vm_id = v.vm_id
