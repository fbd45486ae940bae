-- grain: one row per flow record of the event hour that an observer at another point also reports (the same connection in an overlapping interval)
-- keys: source_type, raw_object_key, raw_offset
-- upstream: flows_in_hour, ref_vm_address_snapshots, inventory_epochs_in_hour
-- materialized: table
-- tests: not_null(source_type, raw_object_key, raw_offset, counts_in_totals, counted_flow_id, observed_by); unique(source_type, raw_object_key, raw_offset)
--
-- Each connection counts once (docs/sources.md, "Counted once"). Two agents, two ENIs, two NSGs,
-- an agent and a cloud log of one VM each report the same packets. Every record keeps its row in
-- flows; of the records of one connection (same 5-tuple in the same orientation, hence the same
-- Community ID) whose intervals overlap, observed at different points, exactly one counts in totals:
--   1. the destination's observation (ingress), else the source's (egress), else a point on the
--      path (transit gateway, NAT gateway, a record whose side is unknown);
--   2. at the same end, the interface's own unsampled flow log (AWS ENI, Azure VNet, OCI VNIC),
--      then an NSG's tuple, then the agent, then GCP's sampled record;
--   3. then the smallest flow_id, so reruns choose the same record.
-- Counters are never added up or averaged across observers: the winner's counters are the
-- connection's (a retransmission, a sampled or a lossy capture changes only the loser's figures,
-- which stay in its row). Every record's rank comes from its own columns and the inventory (which
-- end its observer is); only records with a rival at another point appear here, and flows_enriched
-- takes counts_in_totals, counted_flow_id and observed_by from this model where a row exists.
-- The same model runs over any set of an hour's records, so a commit that merges shards runs it
-- over the union of theirs. Records a source already resolved itself (an NSG tuple of a NIC whose
-- VNet flow log is read: azure_nsg__records) are not candidates. GCP's SRC and DEST reports of
-- one flow are two points like any other (DEST counts).
with

-- Which end of a record its observer is, for sources that state no direction (AWS version 2):
-- the end whose address belongs to the observing interface in the inventory in force.
interface_addresses as (
    select distinct va.interface_id, va.ip, e.valid_from, e.valid_to
    from ref_vm_address_snapshots as va
    inner join inventory_epochs_in_hour as e on va.epoch = e.epoch
),

-- Each record's observation point, and the tuples that more than one point reports: only their
-- records can have a rival, so the ranking and the self-join below run on those alone (an hour of
-- one-sided traffic repeats its 5-tuples many times at one point, which a self-join on the tuple
-- would pair with each other only to drop every pair).
points as (
    select
        f.*,
        observer_point(f.source_type, f.observer_vm_id, f.interface_id, f.mac_address, f.reporter, f.instance_id, f.subnet_id, f.tgw_attachment_id, f.resource_id, f.raw_object_key) as point
    from flows_in_hour as f
    where f.counts_in_totals
),

shared_tuples as (
    select src_ip, dst_ip, protocol, src_port, dst_port
    from points
    group by src_ip, dst_ip, protocol, src_port, dst_port
    having count(distinct point) > 1
),

candidates as (
    select p.*
    from points as p
    semi join shared_tuples as t
        on p.src_ip = t.src_ip and p.dst_ip = t.dst_ip and p.protocol = t.protocol
        and p.src_port is not distinct from t.src_port and p.dst_port is not distinct from t.dst_port
),

observations as (
    select
        f.source_type,
        f.raw_object_key,
        f.raw_offset,
        f.src_ip,
        f.src_port,
        f.dst_ip,
        f.dst_port,
        f.protocol,
        -- Clocks of two observers differ, and an Azure tuple is one instant of its minute.
        f.start_at - interval 1 second as window_start,
        case
            when f.source_type in ('azure_nsg', 'azure_vnet') then f.start_at + interval 1 minute
            else f.end_at + interval 1 second
        end as window_end,
        f.point,
        case
            -- A GCP gateway reporter (a VPN, an interconnect) is on the path, not an end.
            when f.reporter in ('SRC_GATEWAY', 'DEST_GATEWAY') then 2
            when f.direction = 'ingress' or (f.direction is null and d.ip is not null) then 0
            when f.direction = 'egress' or (f.direction is null and s.ip is not null) then 1
            else 2
        end as side_rank,
        case f.source_type when 'azure_nsg' then 2 when 'agent' then 3 when 'gcp_vpc' then 4 else 1 end as kind_rank,
        flow_id_of(f.source_type, f.raw_object_key, f.raw_offset) as flow_id
    from candidates as f
    left join interface_addresses as d
        on f.direction is null and f.interface_id = d.interface_id and f.dst_ip = d.ip and f.start_at >= d.valid_from and f.start_at < d.valid_to
    left join interface_addresses as s
        on f.direction is null and f.interface_id = s.interface_id and f.src_ip = s.ip and f.start_at >= s.valid_from and f.start_at < s.valid_to
),

ranked as (
    -- One sortable text per record: rank digits, then the flow_id that breaks ties.
    select *, side_rank::varchar || kind_rank::varchar || flow_id as rank_key
    from observations
),

rivals as (
    select
        a.source_type,
        a.raw_object_key,
        a.raw_offset,
        any_value(a.flow_id) as flow_id,
        any_value(a.point) as point,
        any_value(a.rank_key) as rank_key,
        min(b.rank_key) as best_rival_rank_key,
        list(distinct b.point) as rival_points
    from ranked as a
    inner join ranked as b
        on a.src_ip = b.src_ip and a.dst_ip = b.dst_ip and a.protocol = b.protocol
        and a.src_port is not distinct from b.src_port and a.dst_port is not distinct from b.dst_port
        and a.point <> b.point
        and b.window_start <= a.window_end and a.window_start <= b.window_end
    group by a.source_type, a.raw_object_key, a.raw_offset
)

select
    source_type,
    raw_object_key,
    raw_offset,
    rank_key < best_rival_rank_key as counts_in_totals,
    case when rank_key < best_rival_rank_key then flow_id else substr(best_rival_rank_key, 3) end as counted_flow_id,
    list_sort(list_distinct(list_append(rival_points, point))) as observed_by
from rivals
