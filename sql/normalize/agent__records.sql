-- grain: one row per staged (non-blank) line of an agent spool segment (NDJSON, schemas/agent-record.ts)
-- keys: raw_object_key, raw_offset
-- upstream: stg_lines__agent, stg_objects
-- materialized: table
-- tests: not_null(raw_object_key, raw_offset, record_status, counts_in_totals); unique(raw_object_key, raw_offset); accepted_values(record_status: flow, invalid)
--
-- Rename, cast and categorise only; mirrors the zod schema of the agent record, field by field,
-- so a line the agent's own schema would refuse is quarantined with the same reason.
with

known as (
    select ['v', 'vm_id', 'interface_id', 'interval_start_at', 'interval_s', 'start_at', 'end_at', 'src_ip', 'dst_ip',
        'src_port', 'dst_port', 'protocol', 'direction', 'packets', 'bytes', 'tcp_flags'] as fields
),

lines as (
    select
        object_idx,
        line_no,
        line,
        -- An object starts with '{': reading the text spares a parse of the line (AND evaluates
        -- both sides, and starts_with cannot fail where json_type would).
        json_valid(line) and starts_with(ltrim(line), '{') as is_object
    from stg_lines__agent
),

extracted as (
    select
        l.object_idx,
        l.line_no,
        l.line,
        l.is_object,
        -- The agent writes every field, in this order: one list compare clears its records, and
        -- only other lines are filtered key by key (a lambda per key costs ~1.5 CPU s a million).
        case when l.is_object then
            case when json_keys(l.line) = k.fields then [] else list_filter(json_keys(l.line), key -> not list_contains(k.fields, key)) end
        end as unknown_keys,
        case when l.is_object then json_extract_string(l.line, [
            '$.v', '$.vm_id', '$.interface_id', '$.interval_start_at', '$.interval_s', '$.start_at', '$.end_at',
            '$.src_ip', '$.dst_ip', '$.src_port', '$.dst_port', '$.protocol', '$.direction', '$.packets', '$.bytes', '$.tcp_flags'
        ]) end as v
    from lines as l
    cross join known as k
),

typed as (
    select
        object_idx,
        line_no,
        line,
        is_object,
        unknown_keys,
        v[1] as version_text,
        v[2] as vm_id,
        v[3] as interface_id,
        v[4] as interval_start_text,
        try_cast(v[5] as integer) as interval_s,
        v[6] as start_text,
        v[7] as end_text,
        v[8] as src_ip_text,
        v[9] as dst_ip_text,
        v[10] as src_port_text,
        v[11] as dst_port_text,
        v[12] as protocol_text,
        v[13] as direction_text,
        v[14] as packets_text,
        v[15] as bytes_text,
        v[16] as tcp_flags_text,
        try_cast(v[6] as timestamp) as start_at,
        try_cast(v[7] as timestamp) as end_at,
        try_cast(v[4] as timestamp) as interval_start_at,
        ip_canonical(v[8]) as src_ip,
        ip_canonical(v[9]) as dst_ip,
        try_cast(v[10] as integer) as src_port,
        try_cast(v[11] as integer) as dst_port,
        try_cast(v[12] as integer) as protocol,
        try_cast(v[14] as bigint) as packets,
        try_cast(v[15] as bigint) as bytes,
        try_cast(v[16] as integer) as tcp_flags
    from extracted
),

checked as (
    select
        *,
        case
            when not is_object then 'not a JSON object'
            else nullif(concat_ws('; ',
                case when len(unknown_keys) > 0 then 'unknown fields: ' || array_to_string(unknown_keys, ', ') end,
                case when version_text is distinct from '1' then 'v: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a supported agent record version (1)' end,
                case when vm_id is null or vm_id = '' then 'vm_id: missing' end,
                case when interval_start_at is null then 'interval_start_at: ' || coalesce('"' || interval_start_text || '"', 'missing') || ' is not an ISO 8601 UTC time' end,
                case when interval_s is null or interval_s <= 0 then 'interval_s: missing or not a positive integer' end,
                case when start_at is null then 'start_at: ' || coalesce('"' || start_text || '"', 'missing') || ' is not an ISO 8601 UTC time' end,
                case when end_at is null then 'end_at: ' || coalesce('"' || end_text || '"', 'missing') || ' is not an ISO 8601 UTC time' end,
                case when end_at < start_at then 'end_at is before start_at' end,
                case when src_ip is null then 'src_ip: ' || coalesce('"' || src_ip_text || '"', 'missing') || ' is not an IP address' end,
                case when dst_ip is null then 'dst_ip: ' || coalesce('"' || dst_ip_text || '"', 'missing') || ' is not an IP address' end,
                case when src_port is null or src_port not between 0 and 65535 then 'src_port: ' || coalesce('"' || src_port_text || '"', 'missing') || ' is not a port (0-65535)' end,
                case when dst_port is null or dst_port not between 0 and 65535 then 'dst_port: ' || coalesce('"' || dst_port_text || '"', 'missing') || ' is not a port (0-65535)' end,
                case when protocol is null or protocol not between 0 and 255 then 'protocol: ' || coalesce('"' || protocol_text || '"', 'missing') || ' is not an IANA protocol number (0-255)' end,
                case when direction_text is null or direction_text not in ('ingress', 'egress', 'transit') then 'direction: ' || coalesce('"' || direction_text || '"', 'missing') || ' is not ingress, egress or transit' end,
                case when packets is null or packets < 0 then 'packets: ' || coalesce('"' || packets_text || '"', 'missing') || ' is not a non-negative integer' end,
                case when bytes is null or bytes < 0 then 'bytes: ' || coalesce('"' || bytes_text || '"', 'missing') || ' is not a non-negative integer' end,
                case when tcp_flags is null or tcp_flags not between 0 and 255 then 'tcp_flags: ' || coalesce('"' || tcp_flags_text || '"', 'missing') || ' is not a flag bitmask (0-255)' end
            ), '')
        end as invalid_reason
    from typed
)

select
    'agent' as source_type,
    o.object_key as raw_object_key,
    c.line_no as raw_offset,
    case when c.invalid_reason is null then 'flow' else 'invalid' end as record_status,
    c.invalid_reason,
    case when c.invalid_reason is not null then c.line end as raw_text,
    c.start_at,
    c.end_at,
    c.src_ip,
    c.src_port,
    c.dst_ip,
    c.dst_port,
    c.protocol,
    -- Transit traffic (neither end is the VM's) has no direction from the VM's point of view.
    case when c.direction_text in ('ingress', 'egress') then c.direction_text end as direction,
    cast(null as varchar) as action,
    c.packets,
    c.bytes,
    c.tcp_flags,
    c.vm_id as observer_vm_id,
    c.interface_id,
    cast(null as varchar) as account_id,
    cast(null as varchar) as region,
    -- Both VMs of a flow run agents and both report it; the agent has no cross-VM view, so each
    -- report counts (as AWS's per-ENI records do).
    true as counts_in_totals,
    c.version_text as source_version
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx
