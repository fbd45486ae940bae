-- grain: one row per staged (non-blank) line of an AWS VPC Flow Logs text object; header lines excluded
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__aws_vpc, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, nodata, skipdata, invalid)
--
-- Rename, cast and categorise only. Every field is located by name through the object's own
-- header line (S3 delivery writes one), so any custom field order parses; an object without a
-- header carries the default version 2 format. `-` is AWS's null. A line whose field count
-- differs from its header is invalid, never parsed by position.
with

lines as (
    select
        object_idx,
        line_no,
        line,
        string_split(line, ' ') as fields
    from stg_lines__aws_vpc
),

first_lines as (
    select
        object_idx,
        min(line_no) as line_no,
        arg_min(line, line_no) as line
    from lines
    group by object_idx
),

formats as (
    select
        object_idx,
        is_header,
        case when is_header then line_no end as header_line_no,
        header_fields,
        list_filter(header_fields, f -> not list_contains(known_fields, f)) as unknown_fields,
        len(header_fields) as expected_fields,
        list_position(header_fields, 'version') as p_version,
        list_position(header_fields, 'account-id') as p_account_id,
        list_position(header_fields, 'interface-id') as p_interface_id,
        list_position(header_fields, 'srcaddr') as p_srcaddr,
        list_position(header_fields, 'dstaddr') as p_dstaddr,
        list_position(header_fields, 'srcport') as p_srcport,
        list_position(header_fields, 'dstport') as p_dstport,
        list_position(header_fields, 'protocol') as p_protocol,
        list_position(header_fields, 'packets') as p_packets,
        list_position(header_fields, 'bytes') as p_bytes,
        list_position(header_fields, 'start') as p_start,
        list_position(header_fields, 'end') as p_end,
        list_position(header_fields, 'action') as p_action,
        list_position(header_fields, 'log-status') as p_log_status,
        list_position(header_fields, 'tcp-flags') as p_tcp_flags,
        list_position(header_fields, 'flow-direction') as p_flow_direction,
        list_position(header_fields, 'region') as p_region
    from (
        select
            object_idx,
            line_no,
            regexp_full_match(line, '[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*') as is_header,
            string_split(
                case
                    when regexp_full_match(line, '[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*') then line
                    else 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'
                end,
                ' '
            ) as header_fields,
            [
                'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol',
                'packets', 'bytes', 'start', 'end', 'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id',
                'tcp-flags', 'type', 'pkt-srcaddr', 'pkt-dstaddr', 'region', 'az-id', 'sublocation-type',
                'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path',
                'ecs-cluster-arn', 'ecs-cluster-name', 'ecs-container-instance-arn', 'ecs-container-instance-id',
                'ecs-container-id', 'ecs-second-container-id', 'ecs-service-name', 'ecs-task-definition-arn',
                'ecs-task-arn', 'ecs-task-id', 'reject-reason', 'resource-id', 'encryption-status'
            ] as known_fields
        from first_lines
    )
),

fielded as (
    select
        l.object_idx,
        l.line_no,
        l.line,
        len(l.fields) as found_fields,
        f.expected_fields,
        f.unknown_fields,
        nullif(l.fields[f.p_version], '-') as version_text,
        nullif(l.fields[f.p_account_id], '-') as account_id,
        nullif(l.fields[f.p_interface_id], '-') as interface_id,
        nullif(l.fields[f.p_srcaddr], '-') as srcaddr_text,
        nullif(l.fields[f.p_dstaddr], '-') as dstaddr_text,
        nullif(l.fields[f.p_srcport], '-') as srcport_text,
        nullif(l.fields[f.p_dstport], '-') as dstport_text,
        nullif(l.fields[f.p_protocol], '-') as protocol_text,
        nullif(l.fields[f.p_packets], '-') as packets_text,
        nullif(l.fields[f.p_bytes], '-') as bytes_text,
        nullif(l.fields[f.p_start], '-') as start_text,
        nullif(l.fields[f.p_end], '-') as end_text,
        nullif(l.fields[f.p_action], '-') as action_text,
        nullif(l.fields[f.p_log_status], '-') as log_status_text,
        nullif(l.fields[f.p_tcp_flags], '-') as tcp_flags_text,
        nullif(l.fields[f.p_flow_direction], '-') as flow_direction_text,
        nullif(l.fields[f.p_region], '-') as region
    from lines as l
    inner join formats as f on l.object_idx = f.object_idx
    where l.line_no is distinct from f.header_line_no
),

typed as (
    select
        *,
        try_cast(version_text as integer) as version,
        ip_canonical(srcaddr_text) as src_ip,
        ip_canonical(dstaddr_text) as dst_ip,
        try_cast(srcport_text as integer) as src_port,
        try_cast(dstport_text as integer) as dst_port,
        try_cast(protocol_text as integer) as protocol,
        try_cast(packets_text as bigint) as packets,
        try_cast(bytes_text as bigint) as bytes,
        try_cast(start_text as bigint) as start_epoch_s,
        try_cast(end_text as bigint) as end_epoch_s,
        try_cast(tcp_flags_text as integer) as tcp_flags,
        coalesce(log_status_text, 'OK') as log_status
    from fielded
),

checked as (
    select
        *,
        nullif(concat_ws('; ',
            case when len(unknown_fields) > 0 then 'header names unknown fields: ' || array_to_string(unknown_fields, ', ') end,
            case when found_fields <> expected_fields then 'expected ' || expected_fields || ' fields as the header says, found ' || found_fields end,
            case when version is null or version < 2 then 'version: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a flow log version (2 or later)' end,
            case when log_status not in ('OK', 'NODATA', 'SKIPDATA') then 'log-status: "' || log_status || '" is not OK, NODATA or SKIPDATA' end
        ), '') as record_error,
        -- Field checks apply to OK records only: NODATA and SKIPDATA carry '-' in every flow field.
        -- The reason text is built only for the rare failing line (CASE evaluates its branch lazily).
        case when
            (src_ip is null) or
            (dst_ip is null) or
            (srcport_text is not null and (src_port is null or src_port not between 0 and 65535)) or
            (dstport_text is not null and (dst_port is null or dst_port not between 0 and 65535)) or
            (protocol is null or protocol not between 0 and 255) or
            (packets is null or packets < 0) or
            (bytes is null or bytes < 0) or
            (start_epoch_s is null or start_epoch_s not between 946684800 and 4102444800) or
            (end_epoch_s is null or end_epoch_s not between 946684800 and 4102444800) or
            (end_epoch_s < start_epoch_s) or
            (action_text is not null and action_text not in ('ACCEPT', 'REJECT')) or
            (tcp_flags_text is not null and (tcp_flags is null or tcp_flags not between 0 and 255)) or
            (flow_direction_text is not null and flow_direction_text not in ('ingress', 'egress'))
        then nullif(concat_ws('; ',
            case when src_ip is null then 'srcaddr: ' || coalesce('"' || srcaddr_text || '"', 'missing') || ' is not an IP address' end,
            case when dst_ip is null then 'dstaddr: ' || coalesce('"' || dstaddr_text || '"', 'missing') || ' is not an IP address' end,
            case when srcport_text is not null and (src_port is null or src_port not between 0 and 65535) then 'srcport: "' || srcport_text || '" is not a port (0-65535)' end,
            case when dstport_text is not null and (dst_port is null or dst_port not between 0 and 65535) then 'dstport: "' || dstport_text || '" is not a port (0-65535)' end,
            case when protocol is null or protocol not between 0 and 255 then 'protocol: ' || coalesce('"' || protocol_text || '"', 'missing') || ' is not an IANA protocol number (0-255)' end,
            case when packets is null or packets < 0 then 'packets: ' || coalesce('"' || packets_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when bytes is null or bytes < 0 then 'bytes: ' || coalesce('"' || bytes_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when start_epoch_s is null or start_epoch_s not between 946684800 and 4102444800 then 'start: ' || coalesce('"' || start_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when end_epoch_s is null or end_epoch_s not between 946684800 and 4102444800 then 'end: ' || coalesce('"' || end_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when end_epoch_s < start_epoch_s then 'end is before start' end,
            case when action_text is not null and action_text not in ('ACCEPT', 'REJECT') then 'action: "' || action_text || '" is not ACCEPT or REJECT' end,
            case when tcp_flags_text is not null and (tcp_flags is null or tcp_flags not between 0 and 255) then 'tcp-flags: "' || tcp_flags_text || '" is not a flag bitmask (0-255)' end,
            case when flow_direction_text is not null and flow_direction_text not in ('ingress', 'egress') then 'flow-direction: "' || flow_direction_text || '" is not ingress or egress' end
        ), '') end as field_error
    from typed
)

select
    'aws_vpc' as source_type,
    o.object_key as raw_object_key,
    c.line_no as raw_offset,
    case
        when c.record_error is not null then 'invalid'
        when c.log_status = 'NODATA' then 'nodata'
        when c.log_status = 'SKIPDATA' then 'skipdata'
        when c.field_error is not null then 'invalid'
        else 'flow'
    end as record_status,
    coalesce(c.record_error, case when c.log_status = 'OK' then c.field_error end) as invalid_reason,
    case when coalesce(c.record_error, case when c.log_status = 'OK' then c.field_error end) is not null then c.line end as raw_text,
    make_timestamp(c.start_epoch_s * 1000000) as start_at,
    make_timestamp(c.end_epoch_s * 1000000) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    c.flow_direction_text as direction,
    lower(c.action_text) as action,
    c.packets,
    c.bytes,
    c.tcp_flags,
    cast(null as varchar) as observer_vm_id,
    c.interface_id,
    c.account_id,
    coalesce(c.region, o.region_hint) as region
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
