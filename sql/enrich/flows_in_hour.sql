-- grain: one row per valid flow record whose start falls in the event hour [hour_start, hour_end)
-- keys: source_type, raw_object_key, raw_offset
-- upstream: all_sources__records
-- materialized: view
--
-- Event time, not delivery time: an object delivered in this hour's window may also hold
-- records of the previous hour; those belong to that hour's run and are counted, not published, here.
-- No flow_id: the readers that write rows compute it (the flows mart, late_records); here,
-- DuckDB computed it for readers that never select it (it did not prune the column through a
-- union): 0.55 CPU s per million flows at each count.
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
        ecs_second_container_id, ecs_service_name, ecs_task_definition_arn, ecs_task_arn, ecs_task_id,
        resource_type, tgw_id, tgw_attachment_id, tgw_src_vpc_account_id, tgw_dst_vpc_account_id, tgw_src_vpc_id,
        tgw_dst_vpc_id, tgw_src_subnet_id, tgw_dst_subnet_id, tgw_src_eni, tgw_dst_eni, tgw_src_az_id,
        tgw_dst_az_id, tgw_pair_attachment_id, packets_lost_no_route, packets_lost_blackhole, packets_lost_mtu_exceeded, packets_lost_ttl_expired,
        coalesce(is_delivery_window, false) as is_delivery_window
    from all_sources__records
    where record_status = 'flow'
        and start_at >= getvariable('hour_start')
        and start_at < getvariable('hour_end')
)

-- AWS records carry their Community ID and public flags: staging computes them for the records
-- it types, its model for the others. The filters on the
-- constant source_type prune each branch to the sources it reads, so neither scans the other's.
select * from in_hour
where source_type = 'aws_vpc'
union all
-- The other sources' in the macros, per scan of this view (its readers select the columns they need).
select * replace (
    community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol) as community_id,
    ip_is_public(src_ip) as src_ip_is_public,
    ip_is_public(dst_ip) as dst_ip_is_public
)
from in_hour
where source_type <> 'aws_vpc'
