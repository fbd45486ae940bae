-- grain: one row per flow tuple of an Azure NSG flow log record (versions 1 and 2), or per record refused whole
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__azure_nsg, stg_tuples__azure_nsg, stg_objects, azure_vnet__records
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid)
--
-- Rename, cast and categorise only (schemas/sources/azure-nsg.ts). Tuples sit in
-- properties.flows[] (one per rule) -> flows[] (one per MAC) -> flowTuples[]. Staging
-- (lib/staging/stage-json-records.ts) put one record of the PT1H.json document per line of
-- stg_lines__azure_nsg as compact JSON, its 1-based index as line_no, with every flowTuples
-- array emptied, and the tuples in stg_tuples__azure_nsg: raw_offset = record index * 1,000,000 +
-- the tuple's 1-based index in the record in document order, group_no = the 1-based index of its
-- flowTuples array in the record, which is its MAC group's in rule, then MAC order. A record
-- refused whole has tuple index 0, and its raw_text shows its flowTuples empty.
-- Tuple: time (Unix s), src, dst, src port, dst port, protocol (T/U), direction (I/O), decision
-- (A/D); version 2 adds the flow state (B begin, C continuing, E end; D accepted too) and packets
-- and bytes src->dst and dst->src since the last update. B rows carry empty counters (0); the
-- counters are deltas, so summing a flow's tuples counts each packet once. Version 1 has no
-- counters: packets and bytes are 0 and reverse_* null.
--
-- An NSG tuple of a NIC (MAC address) whose VNet flow log is read in the same run for the same
-- hour does not count towards traffic totals (counts_in_totals = false), because the VNet flow
-- log reports the same traffic (Microsoft calls it duplicate logging).
with

-- One parse per record: json_transform types what the model reads (a value of another JSON type
-- becomes NULL; a scalar where text is expected, its JSON text). Materialized, so that the parse
-- runs once, not once per use of a field (DuckDB would inline it into each).
records as materialized (
    select
        object_idx,
        line_no,
        line,
        json_transform(line, '{"category": "VARCHAR", "resourceId": "VARCHAR", "properties": {"Version": "VARCHAR",
            "flows": [{"rule": "VARCHAR", "flows": [{"mac": "VARCHAR", "flowTuples": ["VARCHAR"]}]}]}}') as r
    from stg_lines__azure_nsg
),

checked_records as (
    select
        object_idx,
        line_no,
        line,
        r.category as category,
        r.properties.Version as version_text,
        r.properties.Version = '2' as is_v2,
        r.properties.flows as rule_list,
        -- The subscription per record, not per tuple.
        nullif(regexp_extract(r.resourceId, '(?i)/subscriptions/([^/]+)', 1), '') as account_id,
        nullif(concat_ws('; ',
            case when category is distinct from 'NetworkSecurityGroupFlowEvent' then 'category: ' || coalesce('"' || category || '"', 'missing') || ' is not NetworkSecurityGroupFlowEvent (not an NSG flow log record)' end,
            case when version_text is null or version_text not in ('1', '2') then 'properties.Version: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported NSG flow log version (1 or 2)' end,
            case when rule_list is null then 'properties.flows: missing or not an array' end,
            case when not azure_every(list_transform(rule_list, g -> g.flows is not null)) then 'properties.flows[].flows: missing or not an array in a group' end,
            case when not azure_every(flatten(list_transform(rule_list, g -> list_transform(g.flows, m -> m.flowTuples is not null)))) then 'properties.flows[].flows[].flowTuples: missing or not an array in a group' end
        ), '') as record_error
    from records
),

-- The MAC groups of the records read, numbered as staging numbered their flowTuples arrays.
groups as (
    select
        object_idx,
        line_no,
        rule_group.rule as rule,
        upper(replace(mac_group.mac, '-', '')) as mac_address,
        row_number() over (partition by object_idx, line_no order by rule_i, mac_i) as group_no
    from (
        select *, unnest(rule_group.flows) as mac_group, generate_subscripts(rule_group.flows, 1) as mac_i
        from (
            select object_idx, line_no, unnest(rule_list) as rule_group, generate_subscripts(rule_list, 1) as rule_i
            from checked_records
            where record_error is null
        )
    )
),

-- The tuples of the records read (a refused record's are not: it is quarantined once, whole),
-- each with its group; a tuple of a group its record does not have is quarantined, not lost.
-- A plain tuple (lib/sources/azure-plain-tuples.ts) was typed while staged (plain_* columns,
-- NULL for the others): it is taken as typed when it also has its record's version's field count
-- (a flow state only in version 2) and a group. Every other tuple is split, typed and checked
-- here from its text; the text of one staging typed is its fields put back together.
tuples as (
    select
        t.object_idx,
        r.line_no,
        t.raw_offset % 1000000 as tuple_no,
        t.group_no,
        r.is_v2,
        r.version_text,
        r.account_id,
        g.rule,
        g.mac_address,
        g.group_no is not null as has_group,
        t.plain_time is not null and (t.plain_flow_state is not null) = r.is_v2 and g.group_no is not null as is_plain,
        t.* exclude (object_idx, raw_offset, group_no, tuple),
        case when not is_plain then coalesce(t.tuple, azure_tuple_text(
            [t.plain_time::varchar, t.plain_src_ip, t.plain_dst_ip, t.plain_src_port::varchar, t.plain_dst_port::varchar, t.plain_protocol, t.plain_direction, t.plain_decision]
            || case when t.plain_flow_state is not null then [t.plain_flow_state, t.plain_packets::varchar, t.plain_bytes::varchar, t.plain_reverse_packets::varchar, t.plain_reverse_bytes::varchar] else [] end
        )) end as tuple
    from stg_tuples__azure_nsg as t
    inner join checked_records as r on t.object_idx = r.object_idx and t.raw_offset // 1000000 = r.line_no
    left join groups as g on t.object_idx = g.object_idx and r.line_no = g.line_no and t.group_no = g.group_no
    where r.record_error is null
),

-- Split once here: split where the fields are read, the split would be repeated for each field
-- (DuckDB expands a column alias into every expression that names it).
split as (
    select *, string_split(tuple, ',') as f
    from tuples
),

-- A field staging typed, else from the text: both give a plain tuple the same value (the other
-- expression runs only where the staged one is NULL).
typed as (
    select
        *,
        coalesce(plain_time, try_cast(f[1] as bigint)) as epoch_s,
        coalesce(plain_src_ip, ip_canonical(f[2])) as src_ip,
        coalesce(plain_dst_ip, ip_canonical(f[3])) as dst_ip,
        coalesce(plain_src_port, try_cast(f[4] as integer)) as src_port,
        coalesce(plain_dst_port, try_cast(f[5] as integer)) as dst_port,
        case coalesce(plain_protocol, f[6]) when 'T' then 6 when 'U' then 17 end as protocol,
        case coalesce(plain_direction, f[7]) when 'I' then 'ingress' when 'O' then 'egress' end as direction,
        case coalesce(plain_decision, f[8]) when 'A' then 'accept' when 'D' then 'reject' end as action,
        -- Version 1 has eight fields: no flow state (f[9] is NULL), packets and bytes 0, reverse_* null.
        azure_flow_state(coalesce(plain_flow_state, f[9])) as flow_state,
        coalesce(plain_packets, azure_counter(f[10])) as packets,
        coalesce(plain_bytes, azure_counter(f[11])) as bytes,
        case when is_v2 then coalesce(plain_reverse_packets, azure_counter(f[12])) end as reverse_packets,
        case when is_v2 then coalesce(plain_reverse_bytes, azure_counter(f[13])) end as reverse_bytes
    from split
),

-- A plain tuple passed every check of its fields while staged.
checked as (
    select
        *,
        case when not is_plain then nullif(concat_ws('; ',
            case when not has_group then 'the record has no MAC group ' || group_no end,
            case when coalesce(len(f), 0) <> (case when is_v2 then 13 else 8 end)
                then 'expected ' || (case when is_v2 then 13 else 8 end) || ' tuple fields for version ' || version_text || ', found ' || coalesce(len(f), 0) end,
            azure_field_reason('time', epoch_s between 946684800 and 4102444800, f[1], 'is not a Unix time in seconds (2000-2100)'),
            azure_endpoint_reasons(f, src_ip, dst_ip, src_port, dst_port),
            azure_field_reason('protocol', protocol is not null, f[6], 'is not T or U'),
            azure_field_reason('direction', direction is not null, f[7], 'is not I or O'),
            azure_field_reason('decision', action is not null, f[8], 'is not A or D'),
            case when is_v2 then azure_field_reason('flow state', flow_state is not null, f[9], 'is not B, C, E or D') end,
            case when is_v2 then azure_counter_reasons(f, packets, bytes, reverse_packets, reverse_bytes, ['packets src->dst', 'bytes src->dst', 'packets dst->src', 'bytes dst->src']) end
        ), '') end as invalid_reason
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
    unix_seconds_to_timestamp(c.epoch_s) as start_at,
    unix_seconds_to_timestamp(c.epoch_s) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    c.direction,
    c.action,
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
    c.flow_state,
    c.reverse_packets,
    c.reverse_bytes,
    c.mac_address
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
left join vnet_logged as v
    on c.mac_address = v.mac_address
    and c.invalid_reason is null
    and v.hour_at = date_trunc('hour', unix_seconds_to_timestamp(c.epoch_s))

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
