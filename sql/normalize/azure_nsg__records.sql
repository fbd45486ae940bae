-- grain: one row per flow tuple of an Azure NSG flow log record (versions 1 and 2), or per record refused whole
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__azure_nsg, stg_objects, azure_vnet__records
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid)
--
-- Rename, cast and categorise only (schemas/sources/azure-nsg.ts). Staging put one record of the
-- PT1H.json document per line, its 1-based index as line_no. Tuples sit in
-- properties.flows[] (one per rule) -> flows[] (one per MAC) -> flowTuples[]; raw_offset = record
-- index * 1,000,000 + the tuple's 1-based index within the record in document order; a record
-- refused whole has tuple index 0.
-- Tuple: time (Unix s), src, dst, src port, dst port, protocol (T/U), direction (I/O), decision
-- (A/D); version 2 adds the flow state (B begin, C continuing, E end; D accepted too) and packets
-- and bytes src->dst and dst->src since the last update. B rows carry empty counters (0); the
-- counters are deltas, so summing a flow's tuples counts each packet once. Version 1 has no
-- counters: packets and bytes are 0 and reverse_* null.
--
-- The one join: an NSG tuple of a NIC (MAC address) whose VNet flow log is read in the same run
-- for the same hour does not count towards traffic totals (counts_in_totals = false), because
-- the VNet flow log reports the same traffic (Microsoft calls it duplicate logging).
with

records as (
    select
        object_idx,
        line_no,
        line,
        -- One parse for the record's fields and its rule groups (DuckDB re-parses per call).
        json_extract(line, ['$.category', '$.properties.Version', '$.resourceId', '$.properties.flows']) as v,
        json_extract_string(v[1], '$') as category,
        json_extract_string(v[2], '$') as version_text,
        json_extract_string(v[3], '$') as resource_id,
        -- The subscription per record, not per tuple.
        nullif(regexp_extract(resource_id, '(?i)/subscriptions/([^/]+)', 1), '') as account_id,
        -- JSON text of an array starts with '[': no second parse of the whole list.
        case when starts_with(cast(v[4] as varchar), '[') then 'ARRAY' end as flows_type,
        -- A group whose groups or tuples are not arrays would otherwise yield no rows, silently.
        coalesce(list_bool_and(list_transform(json_extract(line, '$.properties.flows[*]'), r -> coalesce(json_type(r, '$.flows') = 'ARRAY', false))), true) as groups_are_arrays,
        coalesce(list_bool_and(list_transform(json_extract(line, '$.properties.flows[*].flows[*]'), g -> coalesce(json_type(g, '$.flowTuples') = 'ARRAY', false))), true) as tuples_are_arrays
    from stg_lines__azure_nsg
),

checked_records as (
    select
        *,
        nullif(concat_ws('; ',
            case when category is distinct from 'NetworkSecurityGroupFlowEvent' then 'category: ' || coalesce('"' || category || '"', 'missing') || ' is not NetworkSecurityGroupFlowEvent (not an NSG flow log record)' end,
            case when version_text is null or version_text not in ('1', '2') then 'properties.Version: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported NSG flow log version (1 or 2)' end,
            case when flows_type is distinct from 'ARRAY' then 'properties.flows: missing or not an array' end,
            case when not groups_are_arrays then 'properties.flows[].flows: missing or not an array in a group' end,
            case when not tuples_are_arrays then 'properties.flows[].flows[].flowTuples: missing or not an array in a group' end
        ), '') as record_error
    from records
),

-- Rule groups, then MAC groups, then tuples, each unnested with its 1-based position; a tuple's
-- index in the record is the tuples of the groups before it plus its position in its group.
-- Each list is extracted once and referenced, so each level of the document is parsed once.
rule_groups as (
    select object_idx, line_no, version_text, account_id, unnest(rule_list) as rule_group, generate_subscripts(rule_list, 1) as rule_i
    from (select *, json_extract(v[4], '$[*]') as rule_list from checked_records where record_error is null)
),

mac_groups as (
    select object_idx, line_no, version_text, account_id, rule_i, rule, unnest(mac_list) as mac_group, generate_subscripts(mac_list, 1) as mac_i
    from (select *, json_extract_string(rule_group, '$.rule') as rule, json_extract(rule_group, '$.flows[*]') as mac_list from rule_groups)
),

groups as (
    select
        *,
        coalesce(sum(len(group_tuples)) over (
            partition by object_idx, line_no order by rule_i, mac_i rows between unbounded preceding and 1 preceding
        ), 0) as tuples_before
    from (
        select object_idx, line_no, version_text, account_id, rule_i, mac_i, rule,
            json_extract_string(mac_group, '$.mac') as mac,
            json_extract_string(mac_group, '$.flowTuples[*]') as group_tuples
        from mac_groups
    )
),

tuples as (
    select
        object_idx,
        line_no,
        version_text,
        account_id,
        rule,
        mac,
        cast(tuples_before + generate_subscripts(group_tuples, 1) as bigint) as tuple_no,
        unnest(group_tuples) as tuple
    from groups
),

typed as (
    select
        *,
        string_split(tuple, ',') as f,
        try_cast(f[1] as bigint) as epoch_s,
        ip_canonical(f[2]) as src_ip,
        ip_canonical(f[3]) as dst_ip,
        try_cast(f[4] as integer) as src_port,
        try_cast(f[5] as integer) as dst_port,
        case f[6] when 'T' then 6 when 'U' then 17 end as protocol,
        f[7] as direction_code,
        f[8] as decision_code,
        case when version_text = '2' then f[9] end as state_code,
        case when version_text = '2' then try_cast(coalesce(nullif(f[10], ''), '0') as bigint) else 0 end as packets,
        case when version_text = '2' then try_cast(coalesce(nullif(f[11], ''), '0') as bigint) else 0 end as bytes,
        case when version_text = '2' then try_cast(coalesce(nullif(f[12], ''), '0') as bigint) end as reverse_packets,
        case when version_text = '2' then try_cast(coalesce(nullif(f[13], ''), '0') as bigint) end as reverse_bytes,
        upper(replace(mac, '-', '')) as mac_address
    from tuples
),

checked as (
    select
        *,
        nullif(concat_ws('; ',
            case when coalesce(len(f), 0) <> (case when version_text = '2' then 13 else 8 end)
                then 'expected ' || (case when version_text = '2' then 13 else 8 end) || ' tuple fields for version ' || version_text || ', found ' || coalesce(len(f), 0) end,
            case when epoch_s is null or epoch_s not between 946684800 and 4102444800 then 'time: "' || coalesce(f[1], '') || '" is not a Unix time in seconds (2000-2100)' end,
            case when src_ip is null then 'source IP: "' || coalesce(f[2], '') || '" is not an IP address' end,
            case when dst_ip is null then 'destination IP: "' || coalesce(f[3], '') || '" is not an IP address' end,
            case when src_port is null or src_port not between 0 and 65535 then 'source port: "' || coalesce(f[4], '') || '" is not a port (0-65535)' end,
            case when dst_port is null or dst_port not between 0 and 65535 then 'destination port: "' || coalesce(f[5], '') || '" is not a port (0-65535)' end,
            case when protocol is null then 'protocol: "' || coalesce(f[6], '') || '" is not T or U' end,
            case when direction_code is null or direction_code not in ('I', 'O') then 'direction: "' || coalesce(direction_code, '') || '" is not I or O' end,
            case when decision_code is null or decision_code not in ('A', 'D') then 'decision: "' || coalesce(decision_code, '') || '" is not A or D' end,
            case when version_text = '2' and (state_code is null or state_code not in ('B', 'C', 'E', 'D')) then 'flow state: "' || coalesce(state_code, '') || '" is not B, C, E or D' end,
            case when version_text = '2' and (packets is null or packets < 0) then 'packets src->dst: "' || coalesce(f[10], '') || '" is not a non-negative integer' end,
            case when version_text = '2' and (bytes is null or bytes < 0) then 'bytes src->dst: "' || coalesce(f[11], '') || '" is not a non-negative integer' end,
            case when version_text = '2' and (reverse_packets is null or reverse_packets < 0) then 'packets dst->src: "' || coalesce(f[12], '') || '" is not a non-negative integer' end,
            case when version_text = '2' and (reverse_bytes is null or reverse_bytes < 0) then 'bytes dst->src: "' || coalesce(f[13], '') || '" is not a non-negative integer' end
        ), '') as invalid_reason
    from typed
),

vnet_logged as (
    select distinct mac_address, date_trunc('hour', start_at) as hour_at
    from azure_vnet__records
    where record_status = 'flow' and mac_address is not null
)

select
    'azure_nsg' as source_type,
    o.object_key as raw_object_key,
    c.line_no * 1000000 + c.tuple_no as raw_offset,
    case when c.invalid_reason is null then 'flow' else 'invalid' end as record_status,
    case when c.invalid_reason is not null then 'record ' || c.line_no || ', tuple ' || c.tuple_no || ': ' || c.invalid_reason end as invalid_reason,
    case when c.invalid_reason is not null then c.tuple end as raw_text,
    make_timestamp(c.epoch_s * 1000000) as start_at,
    make_timestamp(c.epoch_s * 1000000) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    case c.direction_code when 'I' then 'ingress' when 'O' then 'egress' end as direction,
    case c.decision_code when 'A' then 'accept' when 'D' then 'reject' end as action,
    c.packets,
    c.bytes,
    cast(null as integer) as tcp_flags,
    cast(null as varchar) as observer_vm_id,
    cast(null as varchar) as interface_id,
    c.account_id,
    cast(null as varchar) as region,
    v.mac_address is null as counts_in_totals,
    c.version_text as source_version,
    c.rule as rule_name,
    case c.state_code when 'B' then 'begin' when 'C' then 'continuing' when 'E' then 'end' when 'D' then 'deny' end as flow_state,
    c.reverse_packets,
    c.reverse_bytes,
    c.mac_address
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
left join vnet_logged as v
    on c.mac_address = v.mac_address
    and c.invalid_reason is null
    and v.hour_at = date_trunc('hour', make_timestamp(c.epoch_s * 1000000))

union all by name

select
    'azure_nsg' as source_type,
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
