-- grain: one row per staged (non-blank) line of a GCP VPC Flow Logs export: one Cloud Logging LogEntry per line
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__gcp_vpc, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid); accepted_values(reporter: SRC, DEST, SRC_GATEWAY, DEST_GATEWAY)
--
-- Rename, cast and categorise only (schemas/sources/gcp-vpc.ts). The flow is in jsonPayload:
-- connection {src_ip, src_port, dest_ip, dest_port, protocol}, bytes_sent and packets_sent (int64
-- as JSON strings), start_time/end_time (RFC 3339), reporter, and the reporting end's instance and
-- VPC details. Direction is the reporter's view: SRC and SRC_GATEWAY send (egress), DEST and
-- DEST_GATEWAY receive (ingress). Records are sampled; counters are those of the sampled packets.
--
-- Counted once: a flow between two logged VMs is reported by both ends. Which report counts in
-- totals is decided with every other observer's records (enrich/connection_observations.sql: the
-- destination's, DEST, else the source's, else a gateway's); every record is a candidate here.
with

-- One parse per line: json_transform reads every field the model reads in one walk of the
-- document (a multi-path extraction walks it from the root once per path: twice the time),
-- typed as text as json_extract_string gives it. A line that is not JSON fails that parse: try()
-- makes it NULL, and only such a line is checked again (json_valid) to tell why it is refused.
extracted as (
    select
        object_idx,
        line_no,
        line,
        -- An object starts with '{'; checking the text spares DuckDB a parse of any other line.
        case when starts_with(ltrim(line), '{') then try(json_transform(line, '{"logName": "VARCHAR",
            "resource": {"labels": {"project_id": "VARCHAR", "location": "VARCHAR", "subnetwork_name": "VARCHAR"}},
            "jsonPayload": {"connection": {"src_ip": "VARCHAR", "dest_ip": "VARCHAR", "src_port": "VARCHAR", "dest_port": "VARCHAR", "protocol": "VARCHAR"},
                "bytes_sent": "VARCHAR", "packets_sent": "VARCHAR", "start_time": "VARCHAR", "end_time": "VARCHAR", "reporter": "VARCHAR",
                "src_instance": {"vm_name": "VARCHAR", "project_id": "VARCHAR", "region": "VARCHAR", "zone": "VARCHAR"},
                "dest_instance": {"vm_name": "VARCHAR", "project_id": "VARCHAR", "region": "VARCHAR", "zone": "VARCHAR"},
                "src_vpc": {"vpc_name": "VARCHAR", "subnetwork_name": "VARCHAR", "project_id": "VARCHAR"},
                "dest_vpc": {"vpc_name": "VARCHAR", "subnetwork_name": "VARCHAR", "project_id": "VARCHAR"}}}')) end as e
    from stg_lines__gcp_vpc
),

parsed as (
    select
        *,
        e is not null as is_object,
        case when e is not null then true else json_valid(line) end as is_json
    from extracted
),

typed as (
    select
        object_idx,
        line_no,
        line,
        is_json,
        is_object,
        -- json_transform reads any JSON value where it expects an object (NULL only when missing
        -- or null): a payload with a reporter or a source address is one, others are asked.
        case
            when e.jsonPayload is null then false
            when e.jsonPayload.reporter is not null or e.jsonPayload.connection.src_ip is not null then true
            else coalesce(json_type(line, '$.jsonPayload') = 'OBJECT', false)
        end as payload_is_object,
        e.logName as log_name,
        p.connection.src_ip as src_ip_text,
        p.connection.dest_ip as dst_ip_text,
        p.connection.src_port as src_port_text,
        p.connection.dest_port as dst_port_text,
        p.connection.protocol as protocol_text,
        p.bytes_sent as bytes_text,
        p.packets_sent as packets_text,
        p.start_time as start_text,
        p.end_time as end_text,
        p.reporter as reporter,
        ip_canonical(p.connection.src_ip) as src_ip,
        ip_canonical(p.connection.dest_ip) as dst_ip,
        try_cast(p.connection.src_port as integer) as src_port,
        try_cast(p.connection.dest_port as integer) as dst_port,
        try_cast(p.connection.protocol as integer) as protocol,
        try_cast(p.bytes_sent as bigint) as bytes,
        try_cast(p.packets_sent as bigint) as packets,
        -- RFC 3339 with an offset (GCP writes Z); kept as UTC wall time.
        try_cast(try_cast(p.start_time as timestamptz) at time zone 'UTC' as timestamp) as start_at,
        try_cast(try_cast(p.end_time as timestamptz) at time zone 'UTC' as timestamp) as end_at,
        -- The reporting end's details: the VM that saw the flow.
        case when p.reporter in ('SRC', 'SRC_GATEWAY') then p.src_instance.vm_name else p.dest_instance.vm_name end as instance_id,
        coalesce(case when p.reporter in ('SRC', 'SRC_GATEWAY') then coalesce(p.src_instance.project_id, p.src_vpc.project_id) else coalesce(p.dest_instance.project_id, p.dest_vpc.project_id) end, e.resource.labels.project_id) as account_id,
        coalesce(case when p.reporter in ('SRC', 'SRC_GATEWAY') then p.src_instance.region else p.dest_instance.region end, nullif(regexp_extract(e.resource.labels.location, '^([a-z]+-[a-z]+\d+)', 1), '')) as region,
        case when p.reporter in ('SRC', 'SRC_GATEWAY') then p.src_instance.zone else p.dest_instance.zone end as az_id,
        case when p.reporter in ('SRC', 'SRC_GATEWAY') then p.src_vpc.vpc_name else p.dest_vpc.vpc_name end as vpc_id,
        coalesce(case when p.reporter in ('SRC', 'SRC_GATEWAY') then p.src_vpc.subnetwork_name else p.dest_vpc.subnetwork_name end, e.resource.labels.subnetwork_name) as subnet_id
    from (select *, e.jsonPayload as p from parsed)
),

reasoned as (
    select
        *,
        case
            when not is_json then 'not valid JSON (cut off or malformed)'
            when not is_object then 'not a JSON object'
            when payload_is_object is not true then 'not a VPC flow log entry: jsonPayload is missing or not an object'
            when log_name is not null and log_name not like '%vpc_flows' then 'not a VPC flow log entry: logName "' || log_name || '" is not …/logs/compute.googleapis.com%2Fvpc_flows'
            else nullif(concat_ws('; ',
                case when src_ip is null then 'connection.src_ip: ' || coalesce('"' || src_ip_text || '"', 'missing') || ' is not an IP address' end,
                case when dst_ip is null then 'connection.dest_ip: ' || coalesce('"' || dst_ip_text || '"', 'missing') || ' is not an IP address' end,
                case when src_port_text is not null and (src_port is null or src_port not between 0 and 65535) then 'connection.src_port: "' || src_port_text || '" is not a port (0-65535)' end,
                case when dst_port_text is not null and (dst_port is null or dst_port not between 0 and 65535) then 'connection.dest_port: "' || dst_port_text || '" is not a port (0-65535)' end,
                case when protocol is null or protocol not between 0 and 255 then 'connection.protocol: ' || coalesce('"' || protocol_text || '"', 'missing') || ' is not an IANA protocol number (0-255)' end,
                case when bytes is null or bytes < 0 then 'bytes_sent: ' || coalesce('"' || bytes_text || '"', 'missing') || ' is not a non-negative integer' end,
                case when packets is null or packets < 0 then 'packets_sent: ' || coalesce('"' || packets_text || '"', 'missing') || ' is not a non-negative integer' end,
                case when start_at is null then 'start_time: ' || coalesce('"' || start_text || '"', 'missing') || ' is not an RFC 3339 time' end,
                case when end_at is null then 'end_time: ' || coalesce('"' || end_text || '"', 'missing') || ' is not an RFC 3339 time' end,
                case when end_at < start_at then 'end_time is before start_time' end,
                case when reporter is null or reporter not in ('SRC', 'DEST', 'SRC_GATEWAY', 'DEST_GATEWAY') then 'reporter: ' || coalesce('"' || reporter || '"', 'missing') || ' is not SRC, DEST, SRC_GATEWAY or DEST_GATEWAY' end
            ), '')
        end as invalid_reason
    from typed
),

checked as (
    select
        object_idx, line_no, reporter, src_ip, dst_ip, src_port, dst_port, protocol, bytes, packets, start_at, end_at,
        instance_id, account_id, region, az_id, vpc_id, subnet_id, invalid_reason,
        case when invalid_reason is not null then line end as raw_text
    from reasoned
)

select
    'gcp_vpc' as source_type,
    o.object_key as raw_object_key,
    c.line_no as raw_offset,
    case when c.invalid_reason is null then 'flow' else 'invalid' end as record_status,
    c.invalid_reason,
    c.raw_text,
    c.start_at,
    c.end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    case when c.reporter in ('SRC', 'SRC_GATEWAY') then 'egress' when c.reporter in ('DEST', 'DEST_GATEWAY') then 'ingress' end as direction,
    -- VPC Flow Logs record traffic the firewall let through; they do not say so per record.
    cast(null as varchar) as action,
    c.packets,
    c.bytes,
    cast(null as integer) as tcp_flags,
    cast(null as varchar) as observer_vm_id,
    cast(null as varchar) as interface_id,
    c.account_id,
    c.region,
    true as counts_in_totals,
    -- An invalid record keeps its text in raw_text; its reporter column holds only the accepted values.
    case when c.reporter in ('SRC', 'DEST', 'SRC_GATEWAY', 'DEST_GATEWAY') then c.reporter end as reporter,
    c.instance_id,
    c.az_id,
    c.vpc_id,
    c.subnet_id
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
