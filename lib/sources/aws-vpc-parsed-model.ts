import { AWS_VPC_DEFAULT_FORMAT, AWS_VPC_FIELD_TABLE, type AwsVpcField } from '../../schemas/sources/aws-vpc.ts';
import type { ModelDefinition } from '../models/model-definition.ts';

/**
 * Fields whose text the model checks and types further, so it keeps the text as
 * `<column>_text` for the reasons it gives (every integer field is one too).
 */
const CHECKED_TEXT_FIELDS: ReadonlySet<AwsVpcField> = new Set(['srcaddr', 'dstaddr', 'action', 'log-status', 'pkt-srcaddr', 'pkt-dstaddr', 'flow-direction']);

/** Columns named otherwise than the field (`type` says too little among the flow columns). */
const RENAMED: Partial<Record<AwsVpcField, string>> = { type: 'traffic_type' };

function snakeCase(field: string): string {
  return field.replaceAll('-', '_');
}

/** The column of `aws_vpc__parsed_records`' fielded lines that holds a field's text (`-` read as NULL). */
export function awsVpcTextColumn([field, , parquetType]: (typeof AWS_VPC_FIELD_TABLE)[number]): string {
  const renamed = RENAMED[field];
  if (renamed) return renamed;
  return parquetType !== 'STRING' || CHECKED_TEXT_FIELDS.has(field) ? `${snakeCase(field)}_text` : snakeCase(field);
}

function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * `aws_vpc__parsed_records`: the AWS lines staging did not type, split and checked in SQL. Its
 * field lists (the known fields, where the header puts each, each field's text) are generated
 * from the one field table, schemas/sources/aws-vpc.ts, as all_sources__records is from the
 * registry, so a field added there is located, read and known here.
 *
 * Rename, cast and categorise only. Every field is located by name through the object's own
 * header line (S3 text delivery writes one; the Parquet delivery's column names are rendered as
 * one, line 0), so any custom field order parses; an object without a header carries the
 * configured format (sources.aws_vpc.format, in stg_objects.format_hint; default: version 2).
 * `-` is AWS's null. A line whose field count differs from its format is invalid, never parsed
 * by position. CloudWatch Logs exports put an ISO timestamp before each record; it is dropped.
 *
 * A custom format may leave out start, end, packets, bytes, protocol or ports (AWS's own
 * transit-gateway and NAT gateway examples do). Such records are flows all the same: missing
 * counters and protocol are NULL, and without start or end the record takes the delivery window
 * its object's name states (S3 file names end in _YYYYMMDDTHHmmZ_<hash>: the end of the 5 minutes
 * of traffic the file holds), with is_delivery_window = true (docs/sources.md).
 *
 * The records staging typed (stg_typed__aws_vpc) join these in aws_vpc__records; every other
 * line (the first of each object, NODATA and SKIPDATA, anything doubtful or wrong) is parsed and
 * checked here, which gives the reasons for refusing one.
 */
export function awsVpcParsedRecordsModel(): ModelDefinition {
  const knownFields = AWS_VPC_FIELD_TABLE.map(([field]) => sqlText(field)).join(', ');
  const positions = AWS_VPC_FIELD_TABLE.map(([field]) => `        list_position(header_fields, ${sqlText(field)}) as p_${snakeCase(field)}`).join(',\n');
  const texts = AWS_VPC_FIELD_TABLE.map((entry) => `        nullif(l.fields[f.p_${snakeCase(entry[0])}], '-') as ${awsVpcTextColumn(entry)}`).join(',\n');
  const defaultFormat = sqlText(AWS_VPC_DEFAULT_FORMAT);
  return {
    name: 'aws_vpc__parsed_records',
    stage: 'normalize',
    origin: 'generated:AWS VPC field table (lib/sources/aws-vpc-parsed-model.ts, schemas/sources/aws-vpc.ts)',
    grain: 'one row per staged (non-blank) text record of an AWS VPC Flow Logs object (text or Parquet delivery): the records staging did not type',
    keys: ['raw_object_key', 'raw_offset'],
    upstream: ['stg_lines__aws_vpc', 'stg_objects'],
    materialized: 'parquet',
    tests: [],
    body: {
      parameters: [],
      sql: String.raw`with

lines as (
    select
        object_idx,
        line_no,
        line,
        string_split(
            case when line[5] = '-' and line[11] = 'T' then regexp_replace(line, '^\d{4}-\d{2}-\d{2}T\S+ ', '') else line end,
            ' '
        ) as fields
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

headers as (
    select
        f.object_idx,
        f.line_no,
        try_strptime(nullif(regexp_extract(o.object_key, '_(\d{8}T\d{4})Z[_.][^/]*$', 1), ''), '%Y%m%dT%H%M') as delivered_at,
        regexp_full_match(f.line, '[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*') as is_header,
        string_split(
            case
                when regexp_full_match(f.line, '[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*') then f.line
                else coalesce(o.format_hint, ${defaultFormat})
            end,
            ' '
        ) as header_fields
    from first_lines as f
    inner join stg_objects as o on f.object_idx = o.object_idx
),

formats as (
    select
        object_idx,
        is_header,
        delivered_at,
        case when is_header then line_no end as header_line_no,
        header_fields,
        list_filter(header_fields, f -> not list_contains([${knownFields}], f)) as unknown_fields,
        len(header_fields) as expected_fields,
${positions}
    from headers
),

fielded as (
    select
        l.object_idx,
        l.line_no,
        l.line,
        len(l.fields) as found_fields,
        f.expected_fields,
        f.unknown_fields,
        f.is_header,
        f.p_version is not null as has_version,
        f.p_protocol is not null as has_protocol,
        f.p_packets is not null as has_packets,
        f.p_bytes is not null as has_bytes,
        f.p_start is not null and f.p_end is not null as has_times,
        f.delivered_at,
${texts}
    from lines as l
    inner join formats as f on l.object_idx = f.object_idx
    where l.line_no is distinct from f.header_line_no
),

typed as (
    select
        *,
        try_cast(digits_to_bigint(version_text) as integer) as version,
        ip_canonical(srcaddr_text) as src_ip,
        ip_canonical(dstaddr_text) as dst_ip,
        -- Here, where DuckDB parses each address once for all three, rather than per scan of
        -- flows_enriched for addresses without a profile (flows_in_hour).
        ip_is_public(srcaddr_text) as src_ip_is_public,
        ip_is_public(dstaddr_text) as dst_ip_is_public,
        case when pkt_srcaddr_text is not null then ip_canonical(pkt_srcaddr_text) end as pkt_src_ip,
        case when pkt_dstaddr_text is not null then ip_canonical(pkt_dstaddr_text) end as pkt_dst_ip,
        try_cast(digits_to_bigint(srcport_text) as integer) as src_port,
        try_cast(digits_to_bigint(dstport_text) as integer) as dst_port,
        try_cast(digits_to_bigint(protocol_text) as integer) as protocol,
        digits_to_bigint(packets_text) as packets,
        digits_to_bigint(bytes_text) as bytes,
        digits_to_bigint(start_text) as start_epoch_s,
        digits_to_bigint(end_text) as end_epoch_s,
        try_cast(digits_to_bigint(tcp_flags_text) as integer) as tcp_flags,
        try_cast(digits_to_bigint(traffic_path_text) as integer) as traffic_path,
        try_cast(digits_to_bigint(encryption_status_text) as integer) as encryption_status,
        digits_to_bigint(packets_lost_no_route_text) as packets_lost_no_route,
        digits_to_bigint(packets_lost_blackhole_text) as packets_lost_blackhole,
        digits_to_bigint(packets_lost_mtu_exceeded_text) as packets_lost_mtu_exceeded,
        digits_to_bigint(packets_lost_ttl_expired_text) as packets_lost_ttl_expired,
        coalesce(log_status_text, 'OK') as log_status
    from fielded
),

checked as (
    select
        *,
        nullif(concat_ws('; ',
            case when len(unknown_fields) > 0 then (case when is_header then 'header' else 'configured format' end) || ' names unknown fields: ' || array_to_string(unknown_fields, ', ') end,
            case when found_fields <> expected_fields then 'expected ' || expected_fields || ' fields as the ' || (case when is_header then 'header' else 'configured format' end) || ' says, found ' || found_fields end,
            case when has_version and (version is null or version not between 2 and 10) then 'version: ' || coalesce('"' || version_text || '"', 'missing') || ' is not a known flow log version (2-10)' end,
            case when log_status not in ('OK', 'NODATA', 'SKIPDATA') then 'log-status: "' || log_status || '" is not OK, NODATA or SKIPDATA' end
        ), '') as record_error,
        -- Field checks apply to OK records only: NODATA and SKIPDATA carry '-' in every flow field.
        nullif(concat_ws('; ',
            case when src_ip is null then 'srcaddr: ' || coalesce('"' || srcaddr_text || '"', 'missing') || ' is not an IP address' end,
            case when dst_ip is null then 'dstaddr: ' || coalesce('"' || dstaddr_text || '"', 'missing') || ' is not an IP address' end,
            case when srcport_text is not null and (src_port is null or src_port not between 0 and 65535) then 'srcport: "' || srcport_text || '" is not a port (0-65535)' end,
            case when dstport_text is not null and (dst_port is null or dst_port not between 0 and 65535) then 'dstport: "' || dstport_text || '" is not a port (0-65535)' end,
            case when has_protocol and (protocol is null or protocol not between 0 and 255) then 'protocol: ' || coalesce('"' || protocol_text || '"', 'missing') || ' is not an IANA protocol number (0-255)' end,
            case when has_packets and (packets is null or packets < 0) then 'packets: ' || coalesce('"' || packets_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when has_bytes and (bytes is null or bytes < 0) then 'bytes: ' || coalesce('"' || bytes_text || '"', 'missing') || ' is not a non-negative integer' end,
            case when has_times and (start_epoch_s is null or start_epoch_s not between 946684800 and 4102444800) then 'start: ' || coalesce('"' || start_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when has_times and (end_epoch_s is null or end_epoch_s not between 946684800 and 4102444800) then 'end: ' || coalesce('"' || end_text || '"', 'missing') || ' is not a Unix time in seconds (2000-2100)' end,
            case when not has_times and delivered_at is null then 'start, end: the format has no start and end, and the object name states no delivery time (…_YYYYMMDDTHHmmZ_…)' end,
            case when end_epoch_s < start_epoch_s then 'end is before start' end,
            case when action_text is not null and action_text not in ('ACCEPT', 'REJECT') then 'action: "' || action_text || '" is not ACCEPT or REJECT' end,
            case when tcp_flags_text is not null and (tcp_flags is null or tcp_flags not between 0 and 255) then 'tcp-flags: "' || tcp_flags_text || '" is not a flag bitmask (0-255)' end,
            case when flow_direction_text is not null and flow_direction_text not in ('ingress', 'egress') then 'flow-direction: "' || flow_direction_text || '" is not ingress or egress' end,
            case when traffic_type is not null and traffic_type not in ('IPv4', 'IPv6', 'EFA') then 'type: "' || traffic_type || '" is not IPv4, IPv6 or EFA' end,
            case when pkt_srcaddr_text is not null and pkt_src_ip is null then 'pkt-srcaddr: "' || pkt_srcaddr_text || '" is not an IP address' end,
            case when pkt_dstaddr_text is not null and pkt_dst_ip is null then 'pkt-dstaddr: "' || pkt_dstaddr_text || '" is not an IP address' end,
            case when traffic_path_text is not null and (traffic_path is null or traffic_path not between 1 and 8) then 'traffic-path: "' || traffic_path_text || '" is not a traffic path code (1-8)' end,
            case when encryption_status_text is not null and (encryption_status is null or encryption_status not between 0 and 3) then 'encryption-status: "' || encryption_status_text || '" is not an encryption status (0-3)' end,
            case when resource_type is not null and resource_type not in ('TransitGateway', 'TransitGatewayAttachment') then 'resource-type: "' || resource_type || '" is not TransitGateway or TransitGatewayAttachment' end,
            case when packets_lost_no_route_text is not null and (packets_lost_no_route is null or packets_lost_no_route < 0) then 'packets-lost-no-route: "' || packets_lost_no_route_text || '" is not a non-negative integer' end,
            case when packets_lost_blackhole_text is not null and (packets_lost_blackhole is null or packets_lost_blackhole < 0) then 'packets-lost-blackhole: "' || packets_lost_blackhole_text || '" is not a non-negative integer' end,
            case when packets_lost_mtu_exceeded_text is not null and (packets_lost_mtu_exceeded is null or packets_lost_mtu_exceeded < 0) then 'packets-lost-mtu-exceeded: "' || packets_lost_mtu_exceeded_text || '" is not a non-negative integer' end,
            case when packets_lost_ttl_expired_text is not null and (packets_lost_ttl_expired is null or packets_lost_ttl_expired < 0) then 'packets-lost-ttl-expired: "' || packets_lost_ttl_expired_text || '" is not a non-negative integer' end
        ), '') as field_error
    from typed
)

select
    'aws_vpc' as source_type,
    o.object_key as raw_object_key,
    c.line_no as raw_offset,
    log_record_status(c.record_error, c.log_status, c.field_error) as record_status,
    log_record_reason(c.record_error, c.log_status, c.field_error) as invalid_reason,
    case when log_record_reason(c.record_error, c.log_status, c.field_error) is not null then c.line end as raw_text,
    case when c.has_times then unix_seconds_to_timestamp(c.start_epoch_s) else c.delivered_at - interval 5 minute end as start_at,
    case when c.has_times then unix_seconds_to_timestamp(c.end_epoch_s) else c.delivered_at end as end_at,
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
    coalesce(c.region, o.region_hint) as region,
    -- Each ENI logs what it sees; AWS records are one direction each and are all counted.
    true as counts_in_totals,
    c.version_text as source_version,
    c.vpc_id,
    c.subnet_id,
    c.instance_id,
    c.traffic_type,
    c.pkt_src_ip,
    c.pkt_dst_ip,
    c.az_id,
    c.sublocation_type,
    c.sublocation_id,
    c.pkt_src_aws_service,
    c.pkt_dst_aws_service,
    c.traffic_path,
    c.reject_reason,
    c.resource_id,
    c.encryption_status,
    c.ecs_cluster_arn,
    c.ecs_cluster_name,
    c.ecs_container_instance_arn,
    c.ecs_container_instance_id,
    c.ecs_container_id,
    c.ecs_second_container_id,
    c.ecs_service_name,
    c.ecs_task_definition_arn,
    c.ecs_task_arn,
    c.ecs_task_id,
    c.resource_type,
    c.tgw_id,
    c.tgw_attachment_id,
    c.tgw_src_vpc_account_id,
    c.tgw_dst_vpc_account_id,
    c.tgw_src_vpc_id,
    c.tgw_dst_vpc_id,
    c.tgw_src_subnet_id,
    c.tgw_dst_subnet_id,
    c.tgw_src_eni,
    c.tgw_dst_eni,
    c.tgw_src_az_id,
    c.tgw_dst_az_id,
    c.tgw_pair_attachment_id,
    c.packets_lost_no_route,
    c.packets_lost_blackhole,
    c.packets_lost_mtu_exceeded,
    c.packets_lost_ttl_expired,
    not c.has_times as is_delivery_window,
    community_id_v1(c.src_ip, c.dst_ip, c.src_port, c.dst_port, c.protocol) as community_id,
    c.src_ip_is_public,
    c.dst_ip_is_public
from checked as c
inner join stg_objects as o on c.object_idx = o.object_idx`,
    },
  };
}
