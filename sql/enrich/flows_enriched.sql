-- grain: one row per flow of the hour, with both ends enriched
-- keys: source_type, raw_object_key, raw_offset
-- upstream: flows_enriched_records, connection_observations
-- materialized: view
--
-- A record another observer also reports takes whether it counts in totals, the record that
-- does and the observers that saw the connection from connection_observations; any other record
-- is its connection's only observation (counted_flow_id: the flows mart fills in its own id).
-- The only whole-hour step before the marts: a commit that merges shards (lib/scale-out) runs it
-- over the union of the shards' flows_enriched_records, so a connection whose observations fell
-- into different shards is still counted once. A view, read once, by the flows mart.
select
    f.* replace (
        coalesce(c.counts_in_totals, f.counts_in_totals) as counts_in_totals,
        coalesce(c.observed_by, f.observed_by) as observed_by
    ),
    c.counted_flow_id
from flows_enriched_records as f
left join connection_observations as c
    on f.source_type = c.source_type and f.raw_object_key = c.raw_object_key and f.raw_offset = c.raw_offset
