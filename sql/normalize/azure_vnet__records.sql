-- grain: one row per flow tuple of an Azure VNet flow log record (flowLogVersion 4), or per record refused whole
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__azure_vnet, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid)
--
-- Rename, cast and categorise only (schemas/sources/azure-vnet.ts). Staging put one record of the
-- PT1H.json document per line, its 1-based index as line_no. Tuples sit in
-- flowRecords.flows[].flowGroups[].flowTuples[]; raw_offset = record index * 1,000,000 + the
-- tuple's 1-based index within the record in document order (a record is at most 1 MiB, so it
-- never holds a million tuples); a record refused whole has tuple index 0.
-- Tuple: time (Unix ms), src, dst, src port, dst port, protocol (IANA number), direction (I/O),
-- state (B begin, C continuing, E end, D denied), encryption, then packets and bytes src->dst and
-- dst->src since the previous tuple of the flow: deltas, so summing B/C/E tuples counts each once.
with

records as (
    select
        object_idx,
        line_no,
        line,
        -- One parse for the record's fields and its flows (DuckDB re-parses per call).
        json_extract(line, ['$.category', '$.flowLogVersion', '$.macAddress', '$.targetResourceID', '$.flowLogResourceID', '$.flowRecords.flows']) as v,
        json_extract_string(v[1], '$') as category,
        json_extract_string(v[2], '$') as version_text,
        upper(replace(json_extract_string(v[3], '$'), '-', '')) as mac_address,
        json_extract_string(v[4], '$') as target_resource_id,
        json_extract_string(v[5], '$') as flow_log_resource_id,
        -- Resource facts per record, not per tuple.
        nullif(regexp_extract(target_resource_id, '(?i)/subscriptions/([^/]+)', 1), '') as account_id,
        nullif(lower(regexp_extract(flow_log_resource_id, '(?i)/networkwatchers/networkwatcher_([^/]+)/', 1)), '') as region,
        nullif(regexp_extract(target_resource_id, '(?i)/virtualnetworks/([^/]+)', 1), '') as vpc_id,
        nullif(regexp_extract(target_resource_id, '(?i)/subnets/([^/]+)', 1), '') as subnet_id,
        -- JSON text of an array starts with '[': no second parse of the whole list.
        case when starts_with(cast(v[6] as varchar), '[') then 'ARRAY' end as flows_type,
        -- A group whose groups or tuples are not arrays would otherwise yield no rows, silently.
        coalesce(list_bool_and(list_transform(json_extract(line, '$.flowRecords.flows[*]'), r -> coalesce(json_type(r, '$.flowGroups') = 'ARRAY', false))), true) as groups_are_arrays,
        coalesce(list_bool_and(list_transform(json_extract(line, '$.flowRecords.flows[*].flowGroups[*]'), g -> coalesce(json_type(g, '$.flowTuples') = 'ARRAY', false))), true) as tuples_are_arrays
    from stg_lines__azure_vnet
),

checked_records as (
    select
        *,
        nullif(concat_ws('; ',
            case when category is distinct from 'FlowLogFlowEvent' then 'category: ' || coalesce('"' || category || '"', 'missing') || ' is not FlowLogFlowEvent (not a VNet flow log record)' end,
            case when version_text is distinct from '4' then 'flowLogVersion: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported VNet flow log version (4)' end,
            case when flows_type is distinct from 'ARRAY' then 'flowRecords.flows: missing or not an array' end,
            case when not groups_are_arrays then 'flowRecords.flows[].flowGroups: missing or not an array in a group' end,
            case when not tuples_are_arrays then 'flowRecords.flows[].flowGroups[].flowTuples: missing or not an array in a group' end
        ), '') as record_error
    from records
),

-- ACL flows, then rule groups, then tuples, each unnested with its 1-based position; a tuple's
-- index in the record is the tuples of the groups before it plus its position in its group.
acl_flows as (
    select object_idx, line_no, version_text, mac_address, account_id, region, vpc_id, subnet_id, unnest(flow_list) as acl_flow, generate_subscripts(flow_list, 1) as flow_i
    from (select *, json_extract(v[6], '$[*]') as flow_list from checked_records where record_error is null)
),

rule_groups as (
    select object_idx, line_no, version_text, mac_address, account_id, region, vpc_id, subnet_id, flow_i, acl_id, unnest(group_list) as rule_group, generate_subscripts(group_list, 1) as group_i
    from (select *, json_extract_string(acl_flow, '$.aclID') as acl_id, json_extract(acl_flow, '$.flowGroups[*]') as group_list from acl_flows)
),

groups as (
    select
        *,
        coalesce(sum(len(group_tuples)) over (
            partition by object_idx, line_no order by flow_i, group_i rows between unbounded preceding and 1 preceding
        ), 0) as tuples_before
    from (
        select object_idx, line_no, version_text, mac_address, account_id, region, vpc_id, subnet_id, flow_i, group_i, acl_id,
            json_extract_string(rule_group, '$.rule') as rule,
            json_extract_string(rule_group, '$.flowTuples[*]') as group_tuples
        from rule_groups
    )
),

numbered as (
    select
        object_idx,
        line_no,
        version_text,
        mac_address,
        account_id,
        region,
        vpc_id,
        subnet_id,
        acl_id,
        rule,
        cast(tuples_before + generate_subscripts(group_tuples, 1) as bigint) as tuple_no,
        unnest(group_tuples) as tuple
    from groups
),

typed as (
    select
        *,
        string_split(tuple, ',') as f,
        try_cast(f[1] as bigint) as epoch_ms,
        ip_canonical(f[2]) as src_ip,
        ip_canonical(f[3]) as dst_ip,
        try_cast(f[4] as integer) as src_port,
        try_cast(f[5] as integer) as dst_port,
        try_cast(f[6] as integer) as protocol,
        f[7] as direction_code,
        f[8] as state_code,
        nullif(f[9], '') as flow_encryption,
        try_cast(coalesce(nullif(f[10], ''), '0') as bigint) as packets,
        try_cast(coalesce(nullif(f[11], ''), '0') as bigint) as bytes,
        try_cast(coalesce(nullif(f[12], ''), '0') as bigint) as reverse_packets,
        try_cast(coalesce(nullif(f[13], ''), '0') as bigint) as reverse_bytes
    from numbered
),

checked as (
    select
        *,
        nullif(concat_ws('; ',
            case when coalesce(len(f), 0) <> 13 then 'expected 13 tuple fields, found ' || coalesce(len(f), 0) end,
            case when epoch_ms is null or epoch_ms not between 946684800000 and 4102444800000 then 'time: "' || coalesce(f[1], '') || '" is not a Unix time in milliseconds (2000-2100)' end,
            case when src_ip is null then 'source IP: "' || coalesce(f[2], '') || '" is not an IP address' end,
            case when dst_ip is null then 'destination IP: "' || coalesce(f[3], '') || '" is not an IP address' end,
            case when src_port is null or src_port not between 0 and 65535 then 'source port: "' || coalesce(f[4], '') || '" is not a port (0-65535)' end,
            case when dst_port is null or dst_port not between 0 and 65535 then 'destination port: "' || coalesce(f[5], '') || '" is not a port (0-65535)' end,
            case when protocol is null or protocol not between 0 and 255 then 'protocol: "' || coalesce(f[6], '') || '" is not an IANA protocol number (0-255)' end,
            case when direction_code is null or direction_code not in ('I', 'O') then 'direction: "' || coalesce(direction_code, '') || '" is not I or O' end,
            case when state_code is null or state_code not in ('B', 'C', 'E', 'D') then 'flow state: "' || coalesce(state_code, '') || '" is not B, C, E or D' end,
            case when packets is null or packets < 0 then 'packets sent: "' || coalesce(f[10], '') || '" is not a non-negative integer' end,
            case when bytes is null or bytes < 0 then 'bytes sent: "' || coalesce(f[11], '') || '" is not a non-negative integer' end,
            case when reverse_packets is null or reverse_packets < 0 then 'packets received: "' || coalesce(f[12], '') || '" is not a non-negative integer' end,
            case when reverse_bytes is null or reverse_bytes < 0 then 'bytes received: "' || coalesce(f[13], '') || '" is not a non-negative integer' end
        ), '') as invalid_reason
    from typed
)

select
    'azure_vnet' as source_type,
    o.object_key as raw_object_key,
    c.line_no * 1000000 + c.tuple_no as raw_offset,
    case when c.invalid_reason is null then 'flow' else 'invalid' end as record_status,
    case when c.invalid_reason is not null then 'record ' || c.line_no || ', tuple ' || c.tuple_no || ': ' || c.invalid_reason end as invalid_reason,
    case when c.invalid_reason is not null then c.tuple end as raw_text,
    make_timestamp(c.epoch_ms * 1000) as start_at,
    make_timestamp(c.epoch_ms * 1000) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    case c.direction_code when 'I' then 'ingress' when 'O' then 'egress' end as direction,
    case when c.state_code = 'D' then 'reject' when c.state_code in ('B', 'C', 'E') then 'accept' end as action,
    c.packets,
    c.bytes,
    cast(null as integer) as tcp_flags,
    cast(null as varchar) as observer_vm_id,
    cast(null as varchar) as interface_id,
    c.account_id,
    c.region,
    true as counts_in_totals,
    c.version_text as source_version,
    c.rule as rule_name,
    c.acl_id,
    case c.state_code when 'B' then 'begin' when 'C' then 'continuing' when 'E' then 'end' when 'D' then 'deny' end as flow_state,
    c.flow_encryption,
    c.reverse_packets,
    c.reverse_bytes,
    c.mac_address,
    c.vpc_id,
    c.subnet_id
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx

union all by name

select
    'azure_vnet' as source_type,
    o.object_key as raw_object_key,
    r.line_no * 1000000 as raw_offset,
    'invalid' as record_status,
    'record ' || r.line_no || ': ' || r.record_error as invalid_reason,
    r.line as raw_text,
    true as counts_in_totals,
    r.version_text as source_version
from checked_records as r
inner join stg_objects as o on r.object_idx = o.object_idx
where r.record_error is not null
