-- grain: one row per flow tuple of an Azure VNet flow log record (flowLogVersion 4), or per record refused whole
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__azure_vnet, stg_tuples__azure_vnet, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid)
--
-- Rename, cast and categorise only (schemas/sources/azure-vnet.ts). Tuples sit in
-- flowRecords.flows[] (one per ACL) -> flowGroups[] (one per rule) -> flowTuples[]. Staging
-- (lib/staging/stage-json-records.ts) put one record of the PT1H.json document per line of
-- stg_lines__azure_vnet as compact JSON, its 1-based index as line_no, with every flowTuples
-- array emptied, and the tuples in stg_tuples__azure_vnet: raw_offset = record index * 1,000,000 +
-- the tuple's 1-based index in the record in document order (a record is at most 1 MiB, so it
-- never holds a million tuples), group_no = the 1-based index of its flowTuples array in the
-- record, which is its rule group's in ACL, then rule order. A record refused whole has tuple
-- index 0, and its raw_text shows its flowTuples empty.
-- Tuple: time (Unix ms), src, dst, src port, dst port, protocol (IANA number), direction (I/O),
-- state (B begin, C continuing, E end, D denied), encryption, then packets and bytes src->dst and
-- dst->src since the previous tuple of the flow: deltas, so summing B/C/E tuples counts each once.
with

-- One parse per record: json_transform types what the model reads (a value of another JSON type
-- becomes NULL; a scalar where text is expected, its JSON text). Materialized, so that the parse
-- runs once, not once per use of a field (DuckDB would inline it into each).
records as materialized (
    select
        object_idx,
        line_no,
        line,
        json_transform(line, '{"category": "VARCHAR", "flowLogVersion": "VARCHAR", "macAddress": "VARCHAR", "targetResourceID": "VARCHAR",
            "flowLogResourceID": "VARCHAR", "flowRecords": {"flows": [{"aclID": "VARCHAR", "flowGroups": [{"rule": "VARCHAR", "flowTuples": ["VARCHAR"]}]}]}}') as r
    from stg_lines__azure_vnet
),

checked_records as (
    select
        object_idx,
        line_no,
        line,
        r.category as category,
        r.flowLogVersion as version_text,
        r.flowRecords.flows as acl_list,
        upper(replace(r.macAddress, '-', '')) as mac_address,
        -- Resource facts per record, not per tuple.
        nullif(regexp_extract(r.targetResourceID, '(?i)/subscriptions/([^/]+)', 1), '') as account_id,
        nullif(lower(regexp_extract(r.flowLogResourceID, '(?i)/networkwatchers/networkwatcher_([^/]+)/', 1)), '') as region,
        nullif(regexp_extract(r.targetResourceID, '(?i)/virtualnetworks/([^/]+)', 1), '') as vpc_id,
        nullif(regexp_extract(r.targetResourceID, '(?i)/subnets/([^/]+)', 1), '') as subnet_id,
        nullif(concat_ws('; ',
            case when category is distinct from 'FlowLogFlowEvent' then 'category: ' || coalesce('"' || category || '"', 'missing') || ' is not FlowLogFlowEvent (not a VNet flow log record)' end,
            case when version_text is distinct from '4' then 'flowLogVersion: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported VNet flow log version (4)' end,
            case when acl_list is null then 'flowRecords.flows: missing or not an array' end,
            case when not azure_every(list_transform(acl_list, a -> a.flowGroups is not null)) then 'flowRecords.flows[].flowGroups: missing or not an array in a group' end,
            case when not azure_every(flatten(list_transform(acl_list, a -> list_transform(a.flowGroups, g -> g.flowTuples is not null)))) then 'flowRecords.flows[].flowGroups[].flowTuples: missing or not an array in a group' end
        ), '') as record_error
    from records
),

-- The rule groups of the records read, numbered as staging numbered their flowTuples arrays.
groups as (
    select
        object_idx,
        line_no,
        acl_flow.aclID as acl_id,
        rule_group.rule as rule,
        row_number() over (partition by object_idx, line_no order by flow_i, group_i) as group_no
    from (
        select *, unnest(acl_flow.flowGroups) as rule_group, generate_subscripts(acl_flow.flowGroups, 1) as group_i
        from (
            select object_idx, line_no, unnest(acl_list) as acl_flow, generate_subscripts(acl_list, 1) as flow_i
            from checked_records
            where record_error is null
        )
    )
),

-- The tuples of the records read (a refused record's are not: it is quarantined once, whole),
-- each with its group; a tuple of a group its record does not have is quarantined, not lost.
-- A plain tuple (lib/sources/azure-plain-tuples.ts) was typed while staged (plain_* columns,
-- NULL for the others): it is taken as typed when its record has its group. Every other tuple
-- is split, typed and checked here from its text; the text of one staging typed is its fields
-- put back together.
tuples as (
    select
        t.object_idx,
        r.line_no,
        t.raw_offset % 1000000 as tuple_no,
        t.group_no,
        r.version_text,
        r.mac_address,
        r.account_id,
        r.region,
        r.vpc_id,
        r.subnet_id,
        g.acl_id,
        g.rule,
        g.group_no is not null as has_group,
        t.plain_time is not null and g.group_no is not null as is_plain,
        t.* exclude (object_idx, raw_offset, group_no, tuple),
        case when not is_plain then coalesce(t.tuple, azure_tuple_text([t.plain_time::varchar, t.plain_src_ip, t.plain_dst_ip, t.plain_src_port::varchar,
            t.plain_dst_port::varchar, t.plain_protocol::varchar, t.plain_direction, t.plain_flow_state, t.plain_encryption, t.plain_packets::varchar,
            t.plain_bytes::varchar, t.plain_reverse_packets::varchar, t.plain_reverse_bytes::varchar])) end as tuple
    from stg_tuples__azure_vnet as t
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
        coalesce(plain_time, try_cast(f[1] as bigint)) as epoch_ms,
        coalesce(plain_src_ip, ip_canonical(f[2])) as src_ip,
        coalesce(plain_dst_ip, ip_canonical(f[3])) as dst_ip,
        coalesce(plain_src_port, try_cast(f[4] as integer)) as src_port,
        coalesce(plain_dst_port, try_cast(f[5] as integer)) as dst_port,
        coalesce(plain_protocol, try_cast(f[6] as integer)) as protocol,
        case coalesce(plain_direction, f[7]) when 'I' then 'ingress' when 'O' then 'egress' end as direction,
        azure_flow_state(coalesce(plain_flow_state, f[8])) as flow_state,
        coalesce(plain_encryption, nullif(f[9], '')) as flow_encryption,
        coalesce(plain_packets, azure_counter(f[10])) as packets,
        coalesce(plain_bytes, azure_counter(f[11])) as bytes,
        coalesce(plain_reverse_packets, azure_counter(f[12])) as reverse_packets,
        coalesce(plain_reverse_bytes, azure_counter(f[13])) as reverse_bytes
    from split
),

-- A plain tuple passed every check of its fields while staged.
checked as (
    select
        *,
        case when not is_plain then nullif(concat_ws('; ',
            case when not has_group then 'the record has no rule group ' || group_no end,
            case when coalesce(len(f), 0) <> 13 then 'expected 13 tuple fields, found ' || coalesce(len(f), 0) end,
            azure_field_reason('time', epoch_ms between 946684800000 and 4102444800000, f[1], 'is not a Unix time in milliseconds (2000-2100)'),
            azure_endpoint_reasons(f, src_ip, dst_ip, src_port, dst_port),
            azure_field_reason('protocol', protocol between 0 and 255, f[6], 'is not an IANA protocol number (0-255)'),
            azure_field_reason('direction', direction is not null, f[7], 'is not I or O'),
            azure_field_reason('flow state', flow_state is not null, f[8], 'is not B, C, E or D'),
            azure_counter_reasons(f, packets, bytes, reverse_packets, reverse_bytes, ['packets sent', 'bytes sent', 'packets received', 'bytes received'])
        ), '') end as invalid_reason
    from typed
)

select
    'azure_vnet' as source_type,
    o.object_key as raw_object_key,
    c.line_no * 1000000 + c.tuple_no as raw_offset,
    case when c.invalid_reason is null then 'flow' else 'invalid' end as record_status,
    case when c.invalid_reason is not null then 'record ' || c.line_no || ', tuple ' || c.tuple_no || ': ' || c.invalid_reason end as invalid_reason,
    case when c.invalid_reason is not null then c.tuple end as raw_text,
    unix_millis_to_timestamp(c.epoch_ms) as start_at,
    unix_millis_to_timestamp(c.epoch_ms) as end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    c.direction,
    -- D is a denied flow; B, C and E tuples are of an accepted one.
    case when c.flow_state = 'deny' then 'reject' when c.flow_state is not null then 'accept' end as action,
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
    c.flow_state,
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
