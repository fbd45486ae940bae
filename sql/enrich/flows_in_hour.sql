-- grain: one row per valid flow record whose start falls in the event hour [hour_start, hour_end)
-- keys: source_type, raw_object_key, raw_offset
-- upstream: all_sources__records
-- materialized: view
--
-- Event time, not delivery time: an object delivered in this hour's window may also hold
-- records of the previous hour; those belong to that hour's run and are counted, not published, here.
-- No flow_id: the readers that write rows compute it (the flows mart, late_records); here,
-- DuckDB computed it for readers that never select it (it does not prune the column through the
-- union below): 0.55 CPU s per million flows at each count.
with

in_hour as not materialized (
    select
        start_at,
        end_at,
        source_type,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        protocol,
        direction,
        action,
        packets,
        bytes,
        tcp_flags,
        -- A source may compute these while staging or parsing (AWS: lib/sources/registry.ts, its
        -- model); the macros do the rest, below.
        community_id,
        src_ip_is_public,
        dst_ip_is_public,
        observer_vm_id,
        interface_id,
        account_id,
        region,
        raw_object_key,
        raw_offset,
        -- Provider-specific columns (schemas/tables/flows.ts); a source without one yields null.
        coalesce(counts_in_totals, true) as counts_in_totals,
        source_version, rule_name, acl_id, flow_state, flow_encryption, reverse_packets, reverse_bytes, mac_address, reporter,
        vpc_id, subnet_id, instance_id, traffic_type, pkt_src_ip, pkt_dst_ip, az_id, sublocation_type, sublocation_id,
        pkt_src_aws_service, pkt_dst_aws_service, traffic_path, reject_reason, resource_id, encryption_status,
        ecs_cluster_arn, ecs_cluster_name, ecs_container_instance_arn, ecs_container_instance_id, ecs_container_id,
        ecs_second_container_id, ecs_service_name, ecs_task_definition_arn, ecs_task_arn, ecs_task_id
    from all_sources__records
    where record_status = 'flow'
        and start_at >= getvariable('hour_start')
        and start_at < getvariable('hour_end')
)

select * from in_hour
where community_id is not null and src_ip_is_public is not null and dst_ip_is_public is not null
union all
-- The macros in a branch of their own, so that they run for the rows a source left them to
-- only: in one `coalesce(community_id, community_id_v1(...))` over every row, DuckDB hoists the
-- macros' shared subexpressions out of the coalesce and computes them for every row (1.3 CPU s
-- per million flows for the Community ID, 0.3 for the public flags, at each scan that reads them).
select * replace (
    coalesce(community_id, community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol)) as community_id,
    coalesce(src_ip_is_public, ip_is_public(src_ip)) as src_ip_is_public,
    coalesce(dst_ip_is_public, ip_is_public(dst_ip)) as dst_ip_is_public
)
from in_hour
where community_id is null or src_ip_is_public is null or dst_ip_is_public is null
