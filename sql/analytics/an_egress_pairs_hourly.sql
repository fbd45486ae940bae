-- grain: one row per (hour, source address, public destination address) of connections opened from inside the estate
-- keys: hour_at, src_ip, dst_ip
-- upstream: an_flows
-- materialized: table
-- tests: not_null(hour_at, src_ip, dst_ip, bytes); unique(hour_at, src_ip, dst_ip)
-- Bytes are the opening side's records only: what the source sent, which is what leaves the estate;
-- a connection two observers report (the VM's agent and its ENI flow log) counts once.
select
    hour_at,
    src_ip,
    dst_ip,
    any_value(src_vm_id) as src_vm_id,
    any_value(src_vm_name) as src_vm_name,
    any_value(src_segment) as src_segment,
    count(*) as flow_count,
    sum(bytes) as bytes,
    list_sort(list(distinct dst_port)) as dst_ports,
    min(start_at) as first_seen_at,
    max(end_at) as last_seen_at,
    min(flow_id, 5) as sample_flow_ids
from an_flows
where is_initiator and counts_in_totals and src_key <> 'internet' and dst_key = 'internet'
group by hour_at, src_ip, dst_ip
