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
--
-- The answer. An Azure NSG version 2 or VNet tuple also carries its destination's answer
-- (reverse_packets, reverse_bytes), which every sum adds to the opposite direction; AWS and the
-- agent log the answer as a record of its own, with the reversed 5-tuple. Such a tuple counts both
-- directions or neither: when it counts its request, the other points' records of the answer in an
-- overlapping interval do not count (their counted_flow_id is the tuple's), so the connection's
-- figures are one observer's. When it does not count, its answer does not either, and the answer's
-- own records are ranked among themselves as above. Of two tuples with answers whose requests are
-- each other's answers, the one ranked first by the rule above counts.
--
-- The same model runs over any set of an hour's records, so a commit that merges shards runs it
-- over the union of theirs. Records a source already resolved itself (an NSG tuple of a NIC whose
-- VNet flow log is read: azure_nsg__records) are not candidates. GCP's SRC and DEST reports of
-- one flow are two points like any other (DEST counts).
--
-- Cost (docs/performance.md): the one pass over every record groups a 64-bit hash of its tuple;
-- only the records of tuples that two points report (or whose answer another point reports) are
-- compared, each with the records of the same tuple in the same minutes, not with every record of
-- the tuple in the hour.
with

-- Which end of a record its observer is, for sources that state no direction (AWS version 2):
-- the end whose address belongs to the observing interface in the inventory in force.
interface_addresses as (
    select distinct va.interface_id, va.ip, e.valid_from, e.valid_to
    from ref_vm_address_snapshots as va
    inner join inventory_epochs_in_hour as e on va.epoch = e.epoch
),

-- Each record's tuple and, where it carries one, its answer's tuple, as 64-bit hashes. Inlined
-- into both readers: one scan of the few columns each needs, not a materialized copy of every record.
keyed as not materialized (
    select
        f.*,
        f.reverse_bytes is not null as has_answer,
        hash(f.src_ip, f.dst_ip, f.protocol, f.src_port, f.dst_port) as tuple_key,
        hash(f.dst_ip, f.src_ip, f.protocol, f.dst_port, f.src_port) as answer_tuple_key
    from flows_in_hour as f
    where f.counts_in_totals
),

-- Each record's point as a hash, beside its tuples'.
point_keys as not materialized (
    select
        tuple_key,
        answer_tuple_key,
        has_answer,
        hash(observer_point(source_type, observer_vm_id, interface_id, mac_address, reporter, instance_id, subnet_id, tgw_attachment_id, resource_id, raw_object_key)) as point_key
    from keyed
),

-- The tuples that more than one point reports (a request's, or an answer's): only their records can
-- have a rival. Hashes group 8 bytes a key; two tuples sharing a hash only add candidates, which
-- the exact comparison below tells apart.
shared_tuples as (
    select tuple_key
    from (
        select tuple_key, point_key from point_keys
        union all
        select answer_tuple_key, point_key from point_keys where has_answer
    )
    group by tuple_key
    having min(point_key) <> max(point_key)
),

-- Their records (the point again, now of these alone).
candidates as (
    select
        k.source_type, k.raw_object_key, k.raw_offset, k.start_at, k.end_at, k.src_ip, k.src_port, k.dst_ip, k.dst_port, k.protocol,
        k.direction, k.interface_id, k.reporter, k.has_answer, k.tuple_key, k.answer_tuple_key,
        observer_point(k.source_type, k.observer_vm_id, k.interface_id, k.mac_address, k.reporter, k.instance_id, k.subnet_id, k.tgw_attachment_id, k.resource_id, k.raw_object_key) as point
    from keyed as k
    where k.tuple_key in (select tuple_key from shared_tuples)
        or (k.has_answer and k.answer_tuple_key in (select tuple_key from shared_tuples))
),

observations as (
    select
        f.*,
        -- Clocks of two observers differ, and an Azure tuple is one instant of its minute.
        f.start_at - interval 1 second as window_start,
        case
            when f.source_type in ('azure_nsg', 'azure_vnet') then f.start_at + interval 1 minute
            else f.end_at + interval 1 second
        end as window_end,
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

-- Each record's place in rules 1 to 3 as one number (smaller counts first; unique, as flow_ids are),
-- which also names the record below, and its point as a number: the pairs carry integers only.
ranked as (
    select
        *,
        row_number() over (order by side_rank, kind_rank, flow_id) as rank_order,
        dense_rank() over (order by point) as point_id
    from observations
),

-- One row per direction a record observes: its request, and its answer (the reversed tuple) where
-- it carries one, ranked as its request. Each row is spread over the minutes its window touches, so
-- that records are compared only with the records of their minutes.
directions as (
    select rank_order, point_id, window_start, window_end, false as is_answer, tuple_key, src_ip, src_port, dst_ip, dst_port, protocol
    from ranked
    union all
    select rank_order, point_id, window_start, window_end, true as is_answer, answer_tuple_key, dst_ip, dst_port, src_ip, src_port, protocol
    from ranked
    where has_answer
),

in_minutes as (
    -- (At least the first minute: a record that ends before it starts still overlaps what spans it.)
    select d.*, unnest(generate_series(date_trunc('minute', d.window_start), date_trunc('minute', greatest(d.window_start, d.window_end)), interval 1 minute)) as minute_at
    from directions as d
),

-- Every pair of observations of one tuple at two points whose windows overlap, found in the first
-- minute both touch. Two answers of one tuple are two requests of the reversed one, compared as such.
pairs as (
    select
        a.rank_order as record,
        a.is_answer,
        b.rank_order as rival,
        b.is_answer as rival_is_answer,
        b.point_id as rival_point_id
    from in_minutes as a
    inner join in_minutes as b
        on a.tuple_key = b.tuple_key and a.minute_at = b.minute_at
        and a.src_ip = b.src_ip and a.dst_ip = b.dst_ip and a.protocol = b.protocol
        and a.src_port is not distinct from b.src_port and a.dst_port is not distinct from b.dst_port
        and a.point_id <> b.point_id
        and b.window_start <= a.window_end and a.window_start <= b.window_end
    where not (a.is_answer and b.is_answer)
        and a.minute_at = greatest(date_trunc('minute', a.window_start), date_trunc('minute', b.window_start))
),

-- Rules 1 to 3 among the records of a request.
best_request_rivals as (
    select record, min(rival) as best_rival
    from pairs
    where not is_answer and not rival_is_answer
    group by record
),

-- The answers, carried by a record that counts its request, that a record of the reversed tuple
-- overlaps: the best-ranked of them counts that record's traffic.
counting_answers as (
    select p.record, min(p.rival) as answering
    from pairs as p
    left join best_request_rivals as owner on owner.record = p.rival
    where p.rival_is_answer and (owner.record is null or p.rival < owner.best_rival)
    group by p.record
),

point_names as (
    select distinct point_id, point from ranked
),

observers as (
    select rp.record, list(n.point) as rival_points
    from (select distinct record, rival_point_id from pairs) as rp
    inner join point_names as n on n.point_id = rp.rival_point_id
    group by rp.record
),

decided as (
    select
        r.source_type,
        r.raw_object_key,
        r.raw_offset,
        r.rank_order,
        r.point,
        o.rival_points,
        case
            -- A record carrying an answer itself loses to another's only if ranked after it.
            when a.answering is not null and not (r.has_answer and r.rank_order < a.answering) then a.answering
            when q.best_rival < r.rank_order then q.best_rival
            else r.rank_order
        end as counted_rank
    from observers as o
    inner join ranked as r on r.rank_order = o.record
    left join best_request_rivals as q on q.record = o.record
    left join counting_answers as a on a.record = o.record
)

select
    d.source_type,
    d.raw_object_key,
    d.raw_offset,
    d.counted_rank = d.rank_order as counts_in_totals,
    c.flow_id as counted_flow_id,
    list_sort(list_append(d.rival_points, d.point)) as observed_by
from decided as d
inner join ranked as c on c.rank_order = d.counted_rank
