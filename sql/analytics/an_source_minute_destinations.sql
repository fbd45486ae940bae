-- grain: one row per (source address, minute, destination address, destination port) of initiating records
-- keys: src_ip, minute_at, dst_ip, dst_port
-- upstream: an_flows
-- materialized: table
-- tests: not_null(src_ip, minute_at, dst_ip)
select src_ip, minute_at, dst_ip, dst_port, count(*) as flow_count, sum(bytes) as bytes
from an_flows
where is_initiator
group by src_ip, minute_at, dst_ip, dst_port
