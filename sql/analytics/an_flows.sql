-- grain: one row per curated flow record in the loaded window (the analysed hours and their look-back)
-- keys: flow_id
-- upstream: flows
-- materialized: table
-- A record is a response when it goes from a low port to a high (ephemeral) one: the server's
-- side of a connection. Fan-out, port scans and new talkers count initiators only, so a web server
-- answering a thousand clients is not a thousand destinations. ICMP answers are responses too.
select
    flow_id,
    start_at,
    end_at,
    source_type,
    src_ip,
    src_port,
    dst_ip,
    dst_port,
    protocol,
    action,
    packets,
    bytes,
    -- The destination's answer in the same record (Azure NSG version 2 and VNet tuples), else 0.
    coalesce(reverse_bytes, 0) as reverse_bytes,
    observer_vm_id,
    -- One record of each connection and interval counts in volumes (enrich/connection_observations.sql).
    counts_in_totals,
    src_vm_id,
    src_vm_name,
    src_segment,
    dst_vm_id,
    dst_vm_name,
    dst_segment,
    date_trunc('minute', start_at) as minute_at,
    date_trunc('hour', start_at) as hour_at,
    not (
        (protocol in (6, 17, 132) and src_port is not null and dst_port is not null and src_port < dst_port and dst_port >= 1024)
        -- ICMP answers (echo reply, unreachable, time exceeded; the type is in src_port): a UDP scan's targets answer with these.
        -- Only the agent logs the type: the clouds' ICMP records (ports 0 0 or none) count as initiators.
        or (protocol = 1 and source_type = 'agent' and src_port in (0, 3, 11))
        or (protocol = 58 and source_type = 'agent' and src_port in (1, 3, 129))
    ) as is_initiator,
    case when src_vm_id is null and src_is_public then 'internet' else src_ip end as src_key,
    case when dst_vm_id is null and dst_is_public then 'internet' else dst_ip end as dst_key
from flows
