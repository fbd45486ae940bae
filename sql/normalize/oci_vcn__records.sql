-- grain: one row per staged (non-blank) line of an OCI VCN flow log batch: one log entry per line
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__oci_vcn, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, nodata, skipdata, invalid)
--
-- Rename, cast and categorise only (schemas/sources/oci-vcn.ts). A Connector Hub writes each log
-- entry as it is in the Logging service: {data, id, oracle, source, specversion, time, type}; the
-- Logging search API wraps the same entry as {datetime, logContent, regionId} and is accepted too.
-- data: action (ACCEPT/REJECT), bytesOut, destinationAddress, destinationPort, startTime and
-- endTime (Unix s), packets, protocol (IANA number), sourceAddress, sourcePort, status
-- (OK/NODATA/SKIPDATA), version. The record has no direction: like AWS version 2, enrichment
-- derives it from which end owns the logging VNIC (interface_id = the VNIC OCID).
with

lines as (
    select
        object_idx,
        line_no,
        line,
        json_valid(line) as is_json,
        case when json_valid(line) then json_type(line) = 'OBJECT' else false end as is_object
    from stg_lines__oci_vcn
),

entries as (
    select
        object_idx,
        line_no,
        line,
        is_json,
        is_object,
        case when is_object then coalesce(json_extract(line, '$.logContent'), line::json) end as entry,
        case when is_object then json_extract_string(line, '$.regionId') end as region_id
    from lines
),

extracted as (
    select
        *,
        case when is_object then json_type(entry, '$.data') end as data_type,
        case when is_object then json_extract_string(entry, [
            '$.type', '$.data.version', '$.data.status', '$.data.action', '$.data.sourceAddress', '$.data.destinationAddress',
            '$.data.sourcePort', '$.data.destinationPort', '$.data.protocol', '$.data.packets', '$.data.bytesOut',
            '$.data.startTime', '$.data.endTime', '$.oracle.vnicocid', '$.oracle.vnicsubnetocid', '$.oracle.tenantid'
        ]) end as v
    from entries
),

typed as (
    select
        object_idx,
        line_no,
        line,
        is_json,
        is_object,
        data_type,
        region_id,
        v[1] as entry_type,
        v[2] as version_text,
        coalesce(nullif(v[3], '-'), 'OK') as status,
        nullif(v[4], '-') as action_text,
        nullif(v[5], '-') as src_ip_text,
        nullif(v[6], '-') as dst_ip_text,
        nullif(v[7], '-') as src_port_text,
        nullif(v[8], '-') as dst_port_text,
        nullif(v[9], '-') as protocol_text,
        nullif(v[10], '-') as packets_text,
        nullif(v[11], '-') as bytes_text,
        nullif(v[12], '-') as start_text,
        nullif(v[13], '-') as end_text,
        v[14] as vnic_id,
        v[15] as subnet_id,
        v[16] as tenant_id,
        ip_canonical(nullif(v[5], '-')) as src_ip,
        ip_canonical(nullif(v[6], '-')) as dst_ip,
        try_cast(nullif(v[7], '-') as integer) as src_port,
        try_cast(nullif(v[8], '-') as integer) as dst_port,
        try_cast(nullif(v[9], '-') as integer) as protocol,
        try_cast(nullif(v[10], '-') as bigint) as packets,
        try_cast(nullif(v[11], '-') as bigint) as bytes,
        try_cast(nullif(v[12], '-') as bigint) as start_epoch_s,
        try_cast(nullif(v[13], '-') as bigint) as end_epoch_s
    from extracted
),

checked as (
    select
        *,
        case
            when not is_json then 'not valid JSON (cut off or malformed)'
            when not is_object then 'not a JSON object'
            when entry_type is distinct from 'com.oraclecloud.vcn.flowlogs.DataEvent' then 'not a VCN flow log entry: type ' || coalesce('"' || entry_type || '"', 'missing') || ' is not com.oraclecloud.vcn.flowlogs.DataEvent'
            when data_type is distinct from 'OBJECT' then 'data: missing or not an object'
            else nullif(concat_ws('; ',
                case when version_text is distinct from '2' then 'data.version: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported VCN flow log version (2)' end,
                case when status not in ('OK', 'NODATA', 'SKIPDATA') then 'data.status: "' || status || '" is not OK, NODATA or SKIPDATA' end
            ), '')
        end as record_error,
        nullif(concat_ws('; ',
            case when src_ip is null then 'data.sourceAddress: ' || coalesce('"' || src_ip_text || '"', 'missing') || ' is not an IP address' end,
            case when dst_ip is null then 'data.destinationAddress: ' || coalesce('"' || dst_ip_text || '"', 'missing') || ' is not an IP address' end,
            case when src_port_text is not null and (src_port is null or src_port not between 0 and 65535) then 'data.sourcePort: "' || src_port_text || '" is not a port (0-65535)' end,
            case when dst_port_text is not null and (dst_port is null or dst_port not between 0 and 65535) then 'data.destinationPort: "' || dst_port_text || '" is not a port (0-65535)' end,
            case when protocol is null or protocol not between 0 and 255 then 'data.protocol: ' || coalesce('"' || protocol_text || '"', 'missing') || ' is not an IANA protocol number (0-255)' end,
            case when packets is null or packets < 0 then 'data.packets: ' || coalesce('"' || packets_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when bytes is null or bytes < 0 then 'data.bytesOut: ' || coalesce('"' || bytes_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when start_epoch_s is null or start_epoch_s not between 946684800 and 4102444800 then 'data.startTime: ' || coalesce('"' || start_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when end_epoch_s is null or end_epoch_s not between 946684800 and 4102444800 then 'data.endTime: ' || coalesce('"' || end_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when end_epoch_s < start_epoch_s then 'data.endTime is before data.startTime' end,
            case when action_text is null or action_text not in ('ACCEPT', 'REJECT') then 'data.action: ' || coalesce('"' || action_text || '"', 'missing') || ' is not ACCEPT or REJECT' end
        ), '') as field_error
    from typed
)

select
    'oci_vcn' as source_type,
    o.object_key as raw_object_key,
    c.line_no as raw_offset,
    case
        when c.record_error is not null then 'invalid'
        when c.status = 'NODATA' then 'nodata'
        when c.status = 'SKIPDATA' then 'skipdata'
        when c.field_error is not null then 'invalid'
        else 'flow'
    end as record_status,
    coalesce(c.record_error, case when c.status = 'OK' then c.field_error end) as invalid_reason,
    case when coalesce(c.record_error, case when c.status = 'OK' then c.field_error end) is not null then c.line end as raw_text,
    make_timestamp(c.start_epoch_s * 1000000) as start_at,
    make_timestamp(c.end_epoch_s * 1000000) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    cast(null as varchar) as direction,
    lower(c.action_text) as action,
    c.packets,
    c.bytes,
    cast(null as integer) as tcp_flags,
    cast(null as varchar) as observer_vm_id,
    c.vnic_id as interface_id,
    c.tenant_id as account_id,
    -- OCIDs name the region: ocid1.vnic.oc1.<region>.<id>.
    coalesce(c.region_id, nullif(split_part(c.vnic_id, '.', 4), '')) as region,
    true as counts_in_totals,
    c.version_text as source_version,
    c.subnet_id
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
