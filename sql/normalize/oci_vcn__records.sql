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
        -- An object starts with '{'; checking the text spares DuckDB another parse of the line.
        json_valid(line) and starts_with(ltrim(line), '{') as is_object
    from stg_lines__oci_vcn
),

extracted as (
    select
        object_idx,
        line_no,
        line,
        is_json,
        is_object,
        -- One parse per line: each field at the top level and inside the API's logContent wrapper
        -- (w[2k-1] and w[2k]); typed picks whichever is present.
        case when is_object then json_extract_string(line, [
            '$.type',
            '$.logContent.type',
            '$.data.version',
            '$.logContent.data.version',
            '$.data.status',
            '$.logContent.data.status',
            '$.data.action',
            '$.logContent.data.action',
            '$.data.sourceAddress',
            '$.logContent.data.sourceAddress',
            '$.data.destinationAddress',
            '$.logContent.data.destinationAddress',
            '$.data.sourcePort',
            '$.logContent.data.sourcePort',
            '$.data.destinationPort',
            '$.logContent.data.destinationPort',
            '$.data.protocol',
            '$.logContent.data.protocol',
            '$.data.packets',
            '$.logContent.data.packets',
            '$.data.bytesOut',
            '$.logContent.data.bytesOut',
            '$.data.startTime',
            '$.logContent.data.startTime',
            '$.data.endTime',
            '$.logContent.data.endTime',
            '$.oracle.vnicocid',
            '$.logContent.oracle.vnicocid',
            '$.oracle.vnicsubnetocid',
            '$.logContent.oracle.vnicsubnetocid',
            '$.oracle.tenantid',
            '$.logContent.oracle.tenantid',
            '$.data',
            '$.logContent.data',
            '$.regionId'
        ]) end as w,
        w[35] as region_id
    from lines
),

typed as (
    select
        object_idx,
        line_no,
        line,
        is_json,
        is_object,
        starts_with(coalesce(w[33], w[34]), '{') as data_is_object,
        region_id,
        coalesce(w[1], w[2]) as entry_type,
        coalesce(w[3], w[4]) as version_text,
        coalesce(nullif(coalesce(w[5], w[6]), '-'), 'OK') as status,
        nullif(coalesce(w[7], w[8]), '-') as action_text,
        nullif(coalesce(w[9], w[10]), '-') as src_ip_text,
        nullif(coalesce(w[11], w[12]), '-') as dst_ip_text,
        nullif(coalesce(w[13], w[14]), '-') as src_port_text,
        nullif(coalesce(w[15], w[16]), '-') as dst_port_text,
        nullif(coalesce(w[17], w[18]), '-') as protocol_text,
        nullif(coalesce(w[19], w[20]), '-') as packets_text,
        nullif(coalesce(w[21], w[22]), '-') as bytes_text,
        nullif(coalesce(w[23], w[24]), '-') as start_text,
        nullif(coalesce(w[25], w[26]), '-') as end_text,
        coalesce(w[27], w[28]) as vnic_id,
        coalesce(w[29], w[30]) as subnet_id,
        coalesce(w[31], w[32]) as tenant_id,
        ip_canonical(nullif(coalesce(w[9], w[10]), '-')) as src_ip,
        ip_canonical(nullif(coalesce(w[11], w[12]), '-')) as dst_ip,
        try_cast(nullif(coalesce(w[13], w[14]), '-') as integer) as src_port,
        try_cast(nullif(coalesce(w[15], w[16]), '-') as integer) as dst_port,
        try_cast(nullif(coalesce(w[17], w[18]), '-') as integer) as protocol,
        try_cast(nullif(coalesce(w[19], w[20]), '-') as bigint) as packets,
        try_cast(nullif(coalesce(w[21], w[22]), '-') as bigint) as bytes,
        try_cast(nullif(coalesce(w[23], w[24]), '-') as bigint) as start_epoch_s,
        try_cast(nullif(coalesce(w[25], w[26]), '-') as bigint) as end_epoch_s
    from extracted
),

checked as (
    select
        *,
        case
            when not is_json then 'not valid JSON (cut off or malformed)'
            when not is_object then 'not a JSON object'
            when entry_type is distinct from 'com.oraclecloud.vcn.flowlogs.DataEvent' then 'not a VCN flow log entry: type ' || coalesce('"' || entry_type || '"', 'missing') || ' is not com.oraclecloud.vcn.flowlogs.DataEvent'
            when data_is_object is not true then 'data: missing or not an object'
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
