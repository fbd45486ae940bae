-- grain: one row per (source address, minute, destination address, destination port) of initiating records
-- keys: src_ip, minute_at, dst_ip, dst_port
-- upstream: an_flows
-- materialized: table
-- tests: not_null(src_ip, minute_at, dst_ip)
-- A connection two observers report is one flow of its destination (the same destination either way,
-- so the scans' distinct hosts and ports do not change; their flow and byte counts do).
select src_ip, minute_at, dst_ip, dst_port, count(*) as flow_count, sum(bytes) as bytes
from an_flows
where is_initiator and counts_in_totals
group by src_ip, minute_at, dst_ip, dst_port
