-- grain: one row per (hour, source key, destination key, destination port, protocol) of initiating records
-- keys: hour_at, src_key, dst_key, dst_port, protocol
-- upstream: an_flows
-- materialized: table
-- tests: not_null(hour_at, src_key, dst_key, protocol)
-- Public addresses outside the inventory collapse to "internet": a new browser reaching the web
-- tier is not a new talker, the web tier reaching the internet on a new port is.
select
    hour_at,
    src_key,
    dst_key,
    dst_port,
    protocol,
    min(src_ip) as src_ip,
    min(dst_ip) as dst_ip,
    any_value(src_vm_id) as src_vm_id,
    any_value(src_vm_name) as src_vm_name,
    any_value(src_segment) as src_segment,
    any_value(dst_segment) as dst_segment,
    min(start_at) as first_seen_at,
    max(end_at) as last_seen_at,
    count(*) as flow_count,
    sum(bytes) as bytes,
    min(flow_id, 5) as sample_flow_ids
from an_flows
-- A connection two observers report is one talker pair's flow.
where is_initiator and counts_in_totals
group by hour_at, src_key, dst_key, dst_port, protocol
