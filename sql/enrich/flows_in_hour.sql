-- grain: one row per valid flow record whose start falls in the event hour [hour_start, hour_end)
-- keys: flow_id (tested on flows_enriched, which materializes it)
-- upstream: all_sources__records
-- materialized: view
--
-- Event time, not delivery time: an object delivered in this hour's window may also hold
-- records of the previous hour; those belong to that hour's run and are counted, not published, here.
select
    md5(source_type || '|' || raw_object_key || '|' || raw_offset) as flow_id,
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
    community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol) as community_id,
    observer_vm_id,
    interface_id,
    account_id,
    region,
    raw_object_key,
    raw_offset
from all_sources__records
where record_status = 'flow'
    and start_at >= getvariable('hour_start')
    and start_at < getvariable('hour_end')
