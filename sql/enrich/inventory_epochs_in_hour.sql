-- grain: one inventory epoch (a period with one snapshot in force) overlapping the event hour
-- keys: epoch
-- upstream: ref_inventory_epochs
-- materialized: table
-- tests: not_null(epoch, valid_from, valid_to); unique(epoch)
--
-- Epochs cover all time without gaps or overlaps (lib/reference/load-inventory.ts), so every flow
-- of the hour falls in exactly one of these rows: usually one, two when a snapshot was taken
-- during the hour. Epoch 0 is the time before the first dated snapshot, when no VM is known.
select
    epoch,
    valid_from,
    valid_to,
    snapshot_at
from ref_inventory_epochs
where valid_from < getvariable('hour_end')
    and valid_to > getvariable('hour_start')
