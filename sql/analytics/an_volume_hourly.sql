-- grain: one row per (hour, scope, key): bytes per segment pair and per inventory VM, both directions of a connection counted on the side that opened it
-- keys: hour_at, scope, volume_key
-- upstream: an_flows
-- materialized: table
-- tests: not_null(hour_at, scope, volume_key, bytes); unique(hour_at, scope, volume_key); accepted_values(scope: segment_pair, source)
-- A response record (server → client) counts for the pair and the VM that opened the connection,
-- so one large transfer is one spike ("app -> data", app-1), not two mirrored ones.
with

oriented as (
    select
        hour_at,
        flow_id,
        -- Both directions: a record's own, and its destination's answer where it counts that too.
        coalesce(bytes, 0) + reverse_bytes as bytes,
        case when is_initiator then src_segment else dst_segment end as client_segment,
        case when is_initiator then dst_segment else src_segment end as server_segment,
        case when is_initiator then src_ip else dst_ip end as client_ip,
        case when is_initiator then src_vm_id else dst_vm_id end as client_vm_id,
        case when is_initiator then src_vm_name else dst_vm_name end as client_vm_name,
        case when is_initiator then dst_ip else src_ip end as server_ip,
        case when is_initiator then dst_port else src_port end as server_port,
        start_at,
        end_at
    from an_flows
    -- A connection two observers report is one connection's bytes.
    where counts_in_totals
),

-- Each record once in every scope it counts in: its segment pair, and the VM that opened it.
scoped as (
    select
        *,
        'segment_pair' as scope,
        concat(coalesce(client_segment, 'unknown'), ' -> ', coalesce(server_segment, 'unknown')) as volume_key,
        coalesce(client_segment, 'unknown') as src_segment,
        coalesce(server_segment, 'unknown') as dst_segment,
        cast(null as varchar) as src_ip,
        cast(null as varchar) as src_vm_id,
        cast(null as varchar) as src_vm_name
    from oriented
    union all
    select
        *,
        'source' as scope,
        client_ip as volume_key,
        client_segment as src_segment,
        cast(null as varchar) as dst_segment,
        client_ip as src_ip,
        client_vm_id as src_vm_id,
        client_vm_name as src_vm_name
    from oriented
    where client_vm_id is not null
),

volumes as (
    select
        hour_at,
        scope,
        volume_key,
        any_value(src_segment) as src_segment,
        any_value(dst_segment) as dst_segment,
        any_value(src_ip) as src_ip,
        any_value(src_vm_id) as src_vm_id,
        any_value(src_vm_name) as src_vm_name,
        count(*) as flow_count,
        sum(bytes) as bytes,
        min(flow_id, 5) as sample_flow_ids,
        count(distinct server_ip) as distinct_hosts,
        count(distinct server_port) as distinct_ports,
        min(start_at) as first_seen_at,
        max(end_at) as last_seen_at
    from scoped
    group by hour_at, scope, volume_key
)

select * from volumes
