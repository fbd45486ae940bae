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
-- (OK/NODATA/SKIPDATA), version. type is com.oraclecloud.vcn.flowlogs.DataEvent, or
-- ...QualityEvent.NoData / ...QualityEvent.SkipData for an interval without flows or with flows
-- not captured, whose data has only version, status, startTime and endTime (counted like AWS's
-- NODATA and SKIPDATA records, not as flows). The record has no direction: like AWS version 2,
-- enrichment derives it from which end owns the logging VNIC (interface_id = the VNIC OCID).
with

-- One parse per line: json_transform reads every field the model reads, at the top level and
-- inside the API's logContent wrapper, in one walk of the document (a multi-path extraction walks
-- it from the root once per path), typed as text as json_extract_string gives it; typed picks
-- whichever of the two is present.
-- A line that is not JSON fails that parse: try() makes it NULL, and only such a line is checked
-- again (json_valid) to tell why it is refused.
extracted as (
    select
        object_idx,
        line_no,
        line,
        -- An object starts with '{'; checking the text spares DuckDB a parse of any other line.
        case when starts_with(ltrim(line), '{') then try(json_transform(line, '{"type": "VARCHAR", "regionId": "VARCHAR",
            "data": {"version": "VARCHAR", "status": "VARCHAR", "action": "VARCHAR", "sourceAddress": "VARCHAR", "destinationAddress": "VARCHAR",
                "sourcePort": "VARCHAR", "destinationPort": "VARCHAR", "protocol": "VARCHAR", "packets": "VARCHAR", "bytesOut": "VARCHAR",
                "startTime": "VARCHAR", "endTime": "VARCHAR"},
            "oracle": {"vnicocid": "VARCHAR", "vnicsubnetocid": "VARCHAR", "tenantid": "VARCHAR"},
            "logContent": {"type": "VARCHAR",
                "data": {"version": "VARCHAR", "status": "VARCHAR", "action": "VARCHAR", "sourceAddress": "VARCHAR", "destinationAddress": "VARCHAR",
                    "sourcePort": "VARCHAR", "destinationPort": "VARCHAR", "protocol": "VARCHAR", "packets": "VARCHAR", "bytesOut": "VARCHAR",
                    "startTime": "VARCHAR", "endTime": "VARCHAR"},
                "oracle": {"vnicocid": "VARCHAR", "vnicsubnetocid": "VARCHAR", "tenantid": "VARCHAR"}}}')) end as e
    from stg_lines__oci_vcn
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
        -- or null): data with a version or a status is one, others are asked.
        case
            when e.data is not null then d.version is not null or d.status is not null or coalesce(json_type(line, '$.data') = 'OBJECT', false)
            when e.logContent.data is not null then d.version is not null or d.status is not null or coalesce(json_type(line, '$.logContent.data') = 'OBJECT', false)
            else false
        end as data_is_object,
        e.regionId as region_id,
        coalesce(e.type, e.logContent.type) as entry_type,
        coalesce(e.data.version, e.logContent.data.version) as version_text,
        -- A quality event (type ...QualityEvent.NoData / .SkipData) states its status in data.status
        -- as well; the type decides where data.status is missing.
        coalesce(
            nullif(coalesce(e.data.status, e.logContent.data.status), '-'),
            case entry_type when 'com.oraclecloud.vcn.flowlogs.QualityEvent.NoData' then 'NODATA' when 'com.oraclecloud.vcn.flowlogs.QualityEvent.SkipData' then 'SKIPDATA' end,
            'OK'
        ) as status,
        nullif(coalesce(e.data.action, e.logContent.data.action), '-') as action_text,
        nullif(coalesce(e.data.sourceAddress, e.logContent.data.sourceAddress), '-') as src_ip_text,
        nullif(coalesce(e.data.destinationAddress, e.logContent.data.destinationAddress), '-') as dst_ip_text,
        nullif(coalesce(e.data.sourcePort, e.logContent.data.sourcePort), '-') as src_port_text,
        nullif(coalesce(e.data.destinationPort, e.logContent.data.destinationPort), '-') as dst_port_text,
        nullif(coalesce(e.data.protocol, e.logContent.data.protocol), '-') as protocol_text,
        nullif(coalesce(e.data.packets, e.logContent.data.packets), '-') as packets_text,
        nullif(coalesce(e.data.bytesOut, e.logContent.data.bytesOut), '-') as bytes_text,
        nullif(coalesce(e.data.startTime, e.logContent.data.startTime), '-') as start_text,
        nullif(coalesce(e.data.endTime, e.logContent.data.endTime), '-') as end_text,
        coalesce(e.oracle.vnicocid, e.logContent.oracle.vnicocid) as vnic_id,
        coalesce(e.oracle.vnicsubnetocid, e.logContent.oracle.vnicsubnetocid) as subnet_id,
        coalesce(e.oracle.tenantid, e.logContent.oracle.tenantid) as tenant_id,
        ip_canonical(src_ip_text) as src_ip,
        ip_canonical(dst_ip_text) as dst_ip,
        try_cast(src_port_text as integer) as src_port,
        try_cast(dst_port_text as integer) as dst_port,
        try_cast(protocol_text as integer) as protocol,
        try_cast(packets_text as bigint) as packets,
        try_cast(bytes_text as bigint) as bytes,
        try_cast(start_text as bigint) as start_epoch_s,
        try_cast(end_text as bigint) as end_epoch_s
    from (select *, coalesce(e.data, e.logContent.data) as d from parsed)
),

-- Region keys (the three-letter codes, lowercase as OCIDs write them) and region names, from
-- Oracle's "Regions and Availability Domains" list.
region_keys(region_key, region_name) as (
    values
        ('phx', 'us-phoenix-1'), ('iad', 'us-ashburn-1'), ('sjc', 'us-sanjose-1'), ('ord', 'us-chicago-1'),
        ('yyz', 'ca-toronto-1'), ('yul', 'ca-montreal-1'), ('qro', 'mx-queretaro-1'), ('mty', 'mx-monterrey-1'),
        ('gru', 'sa-saopaulo-1'), ('vcp', 'sa-vinhedo-1'), ('scl', 'sa-santiago-1'), ('bog', 'sa-bogota-1'), ('vap', 'sa-valparaiso-1'),
        ('lhr', 'uk-london-1'), ('cwl', 'uk-cardiff-1'), ('fra', 'eu-frankfurt-1'), ('ams', 'eu-amsterdam-1'), ('zrh', 'eu-zurich-1'),
        ('cdg', 'eu-paris-1'), ('mrs', 'eu-marseille-1'), ('lin', 'eu-milan-1'), ('arn', 'eu-stockholm-1'), ('mad', 'eu-madrid-1'),
        ('jed', 'me-jeddah-1'), ('ruh', 'me-riyadh-1'), ('dxb', 'me-dubai-1'), ('auh', 'me-abudhabi-1'), ('mtz', 'il-jerusalem-1'),
        ('jnb', 'af-johannesburg-1'), ('bom', 'ap-mumbai-1'), ('hyd', 'ap-hyderabad-1'), ('sin', 'ap-singapore-1'), ('xsp', 'ap-singapore-2'),
        ('nrt', 'ap-tokyo-1'), ('kix', 'ap-osaka-1'), ('icn', 'ap-seoul-1'), ('yny', 'ap-chuncheon-1'), ('syd', 'ap-sydney-1'), ('mel', 'ap-melbourne-1')
),

checked as (
    select
        *,
        case
            when not is_json then 'not valid JSON (cut off or malformed)'
            when not is_object then 'not a JSON object'
            when entry_type is null or entry_type not in ('com.oraclecloud.vcn.flowlogs.DataEvent', 'com.oraclecloud.vcn.flowlogs.QualityEvent.NoData', 'com.oraclecloud.vcn.flowlogs.QualityEvent.SkipData')
                then 'not a VCN flow log entry: type ' || coalesce('"' || entry_type || '"', 'missing') || ' is not com.oraclecloud.vcn.flowlogs.DataEvent, .QualityEvent.NoData or .QualityEvent.SkipData'
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
    log_record_status(c.record_error, c.status, c.field_error) as record_status,
    log_record_reason(c.record_error, c.status, c.field_error) as invalid_reason,
    case when log_record_reason(c.record_error, c.status, c.field_error) is not null then c.line end as raw_text,
    unix_seconds_to_timestamp(c.start_epoch_s) as start_at,
    unix_seconds_to_timestamp(c.end_epoch_s) as end_at,
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
    -- OCIDs name the region: ocid1.vnic.oc1.<region>.<id>, by its name (eu-frankfurt-1) or, in
    -- older regions' OCIDs, its region key (phx); the key is given as the name the API uses.
    coalesce(c.region_id, k.region_name, nullif(split_part(c.vnic_id, '.', 4), '')) as region,
    true as counts_in_totals,
    c.version_text as source_version,
    c.subnet_id
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
left join region_keys as k on k.region_key = split_part(c.vnic_id, '.', 4)
