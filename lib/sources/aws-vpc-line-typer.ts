import { AWS_VPC_DEFAULT_FORMAT, AWS_VPC_FIELDS, type AwsVpcField } from '../../schemas/sources/aws-vpc.ts';
import { COMMUNITY_ID_V1_LENGTH, writeCommunityIdV1 } from '../net/community-id.ts';
import { ipCanonical, ipIsPublic, ipv4BytesArePublic, parseIp } from '../net/ip.ts';
import type { ParquetColumn } from '../staging/parquet-writer.ts';
import type { LineTyper, TypedRow } from '../staging/stage-lines.ts';

/**
 * The columns of a typed AWS VPC Flow Logs record as `stg_typed__aws_vpc` presents them (after
 * object_idx and line_no), with their types: every typed file has them all, NULL where its
 * object's format lacks the field. sql/normalize/aws_vpc__records.sql reads them by name
 * (`action` as the log writes it).
 */
export const AWS_VPC_TYPED_COLUMNS = [
  ['source_version', 'VARCHAR'],
  ['account_id', 'VARCHAR'],
  ['interface_id', 'VARCHAR'],
  ['src_ip', 'VARCHAR'],
  ['dst_ip', 'VARCHAR'],
  ['src_port', 'INTEGER'],
  ['dst_port', 'INTEGER'],
  ['protocol', 'INTEGER'],
  ['packets', 'BIGINT'],
  ['bytes', 'BIGINT'],
  ['start_epoch_s', 'BIGINT'],
  ['end_epoch_s', 'BIGINT'],
  ['action', 'VARCHAR'],
  ['vpc_id', 'VARCHAR'],
  ['subnet_id', 'VARCHAR'],
  ['instance_id', 'VARCHAR'],
  ['tcp_flags', 'INTEGER'],
  ['traffic_type', 'VARCHAR'],
  ['pkt_src_ip', 'VARCHAR'],
  ['pkt_dst_ip', 'VARCHAR'],
  ['region', 'VARCHAR'],
  ['az_id', 'VARCHAR'],
  ['sublocation_type', 'VARCHAR'],
  ['sublocation_id', 'VARCHAR'],
  ['pkt_src_aws_service', 'VARCHAR'],
  ['pkt_dst_aws_service', 'VARCHAR'],
  ['direction', 'VARCHAR'],
  ['traffic_path', 'INTEGER'],
  ['ecs_cluster_arn', 'VARCHAR'],
  ['ecs_cluster_name', 'VARCHAR'],
  ['ecs_container_instance_arn', 'VARCHAR'],
  ['ecs_container_instance_id', 'VARCHAR'],
  ['ecs_container_id', 'VARCHAR'],
  ['ecs_second_container_id', 'VARCHAR'],
  ['ecs_service_name', 'VARCHAR'],
  ['ecs_task_definition_arn', 'VARCHAR'],
  ['ecs_task_arn', 'VARCHAR'],
  ['ecs_task_id', 'VARCHAR'],
  ['reject_reason', 'VARCHAR'],
  ['resource_id', 'VARCHAR'],
  ['encryption_status', 'INTEGER'],
  ['resource_type', 'VARCHAR'],
  ['tgw_id', 'VARCHAR'],
  ['tgw_attachment_id', 'VARCHAR'],
  ['tgw_src_vpc_account_id', 'VARCHAR'],
  ['tgw_dst_vpc_account_id', 'VARCHAR'],
  ['tgw_src_vpc_id', 'VARCHAR'],
  ['tgw_dst_vpc_id', 'VARCHAR'],
  ['tgw_src_subnet_id', 'VARCHAR'],
  ['tgw_dst_subnet_id', 'VARCHAR'],
  ['tgw_src_eni', 'VARCHAR'],
  ['tgw_dst_eni', 'VARCHAR'],
  ['tgw_src_az_id', 'VARCHAR'],
  ['tgw_dst_az_id', 'VARCHAR'],
  ['tgw_pair_attachment_id', 'VARCHAR'],
  ['packets_lost_no_route', 'BIGINT'],
  ['packets_lost_blackhole', 'BIGINT'],
  ['packets_lost_mtu_exceeded', 'BIGINT'],
  ['packets_lost_ttl_expired', 'BIGINT'],
  ['community_id', 'VARCHAR'],
  ['src_ip_is_public', 'BOOLEAN'],
  ['dst_ip_is_public', 'BOOLEAN'],
] as const;

type TypedColumn = (typeof AWS_VPC_TYPED_COLUMNS)[number][0];

/** The typed file's columns: `line_no` (the stager's), then AWS_VPC_TYPED_COLUMNS. */
const TYPED_FILE_COLUMNS: readonly ParquetColumn[] = [{ name: 'line_no', type: 'BIGINT' }, ...AWS_VPC_TYPED_COLUMNS.map(([name, type]): ParquetColumn => ({ name, type }))];
const columnIndex = (name: string): number => TYPED_FILE_COLUMNS.findIndex((column) => column.name === name);
const COMMUNITY_ID_COLUMN = columnIndex('community_id');
const SRC_IS_PUBLIC_COLUMN = columnIndex('src_ip_is_public');
const DST_IS_PUBLIC_COLUMN = columnIndex('dst_ip_is_public');

/** How a field is checked, as the normalize model checks it (its `checked` step). */
type FieldRule = { kind: 'text' } | { kind: 'integer'; min: number; max: number } | { kind: 'address' } | { kind: 'one-of'; values: readonly string[] } | { kind: 'log-status' };

const UNIX_SECONDS = { kind: 'integer', min: 946684800, max: 4102444800 } as const;
const COUNTER = { kind: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const TEXT = { kind: 'text' } as const;

/**
 * The checks of every field that is not free text, and the typed column of each field the
 * model names otherwise than its own name with underscores (`vpc-id` is `vpc_id`). A field not
 * listed is free text under that name.
 */
const FIELD_RULES: Partial<Record<AwsVpcField, { column?: TypedColumn; rule: FieldRule; required?: true }>> = {
  version: { column: 'source_version', rule: { kind: 'integer', min: 2, max: 10 }, required: true },
  srcaddr: { column: 'src_ip', rule: { kind: 'address' }, required: true },
  dstaddr: { column: 'dst_ip', rule: { kind: 'address' }, required: true },
  srcport: { column: 'src_port', rule: { kind: 'integer', min: 0, max: 65535 } },
  dstport: { column: 'dst_port', rule: { kind: 'integer', min: 0, max: 65535 } },
  protocol: { rule: { kind: 'integer', min: 0, max: 255 }, required: true },
  packets: { rule: COUNTER, required: true },
  bytes: { rule: COUNTER, required: true },
  start: { column: 'start_epoch_s', rule: UNIX_SECONDS, required: true },
  end: { column: 'end_epoch_s', rule: UNIX_SECONDS, required: true },
  action: { rule: { kind: 'one-of', values: ['ACCEPT', 'REJECT'] } },
  'log-status': { rule: { kind: 'log-status' } },
  'tcp-flags': { rule: { kind: 'integer', min: 0, max: 255 } },
  type: { column: 'traffic_type', rule: { kind: 'one-of', values: ['IPv4', 'IPv6', 'EFA'] } },
  'pkt-srcaddr': { column: 'pkt_src_ip', rule: { kind: 'address' } },
  'pkt-dstaddr': { column: 'pkt_dst_ip', rule: { kind: 'address' } },
  'flow-direction': { column: 'direction', rule: { kind: 'one-of', values: ['ingress', 'egress'] } },
  'traffic-path': { rule: { kind: 'integer', min: 1, max: 8 } },
  'encryption-status': { rule: { kind: 'integer', min: 0, max: 3 } },
  'resource-type': { rule: { kind: 'one-of', values: ['TransitGateway', 'TransitGatewayAttachment'] } },
  'packets-lost-no-route': { rule: COUNTER },
  'packets-lost-blackhole': { rule: COUNTER },
  'packets-lost-mtu-exceeded': { rule: COUNTER },
  'packets-lost-ttl-expired': { rule: COUNTER },
};

const ruleOf = (name: AwsVpcField): FieldRule => FIELD_RULES[name]?.rule ?? TEXT;
const columnOf = (name: AwsVpcField): string => FIELD_RULES[name]?.column ?? name.replaceAll('-', '_');
const REQUIRED = (Object.keys(FIELD_RULES) as AwsVpcField[]).filter((name) => FIELD_RULES[name]!.required);
// Every field but log-status (only OK is typed) has its column: a field without one would be lost.
for (const field of AWS_VPC_FIELDS) {
  if (field !== 'log-status' && columnIndex(columnOf(field)) < 0) throw new Error(`AWS VPC field ${field} has no typed column`);
}

const SPACE = 0x20;
const HEADER = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/;
const MAX_FIELDS = 64;

// Rule kinds as numbers, so that the per-field check reads typed arrays, not objects of five shapes.
const TEXT_KIND = 0;
const INTEGER_KIND = 1;
const ADDRESS_KIND = 2;
const ONE_OF_KIND = 3;
const LOG_STATUS_KIND = 4;
const KIND_OF = { text: TEXT_KIND, integer: INTEGER_KIND, address: ADDRESS_KIND, 'one-of': ONE_OF_KIND, 'log-status': LOG_STATUS_KIND } as const;

/** How one format (a header line or the configured format) is checked and written. */
interface Layout {
  fieldCount: number;
  /** Per field position: its rule (kind, integer bounds, accepted values) and whether '-' refuses the record. */
  kind: Uint8Array;
  min: Float64Array;
  max: Float64Array;
  values: (readonly string[] | null)[];
  required: Uint8Array;
  /** Positions of the fields the Community ID, the public flags and the time check read (-1: absent). */
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  protocol: number;
  start: number;
  end: number;
  /** Per field position: the typed file's column it goes to (-1: none, log-status), and whether as an integer. */
  column: Int16Array;
  integer: Uint8Array;
}

/**
 * Types the plain AWS VPC Flow Logs text records while they are staged, so that the normalize
 * model reads them as typed columns instead of splitting and checking each line in SQL (about 7
 * CPU µs a line there; staging a line costs about 2.6 here, gunzip included, the typer 1.3 of it,
 * in the staging threads). "Plain" is a record the model would publish as a flow without a
 * question: fields located by the object's header line (or the configured format), the field count
 * right, log-status OK, every field valid by the model's own checks, no empty field, addresses
 * strict. Anything else (NODATA and SKIPDATA records, CloudWatch-prefixed lines, a bad value, a
 * header naming an unknown field) is left to the model, which then computes what it publishes and
 * the reasons it refuses, so the typer never has to produce either. The first line of every object
 * is never typed: the model decides from it whether the object has a header, exactly as before. A
 * seeded test holds both paths equal.
 */
export class AwsVpcLineTyper implements LineTyper {
  private layout: Layout | null | undefined;
  /** Per field of the line in hand: its integer value (integer fields), and whether it is '-'. */
  private readonly fieldValue = new Float64Array(MAX_FIELDS);
  private readonly fieldIsNull = new Uint8Array(MAX_FIELDS);
  /** The addresses of the line in hand: IPv4 as bytes, IPv6 as text (the public flag and the Community ID parse it). */
  private readonly srcV4 = new Uint8Array(4);
  private readonly dstV4 = new Uint8Array(4);
  private srcText: string | null = null;
  private dstText: string | null = null;
  private readonly communityId = new Uint8Array(COMMUNITY_ID_V1_LENGTH);

  constructor(private readonly configuredFormat: string = AWS_VPC_DEFAULT_FORMAT) {}

  readonly columns = TYPED_FILE_COLUMNS;

  /**
   * Each field goes to its column as soon as its end is found and it is checked ('-' is NULL:
   * nothing set), then the computed columns: one scan for the spaces, each field then read once
   * more (parsed, checked or copied into its column), with no native call and no string per line.
   */
  typeLine(line: Buffer, from: number, to: number, row: TypedRow): boolean {
    if (this.layout === undefined) {
      const text = line.toString('latin1', from, to);
      this.layout = layoutOf(HEADER.test(text) ? text : this.configuredFormat);
      return false;
    }
    const layout = this.layout;
    // A CloudWatch Logs export line starts with an ISO timestamp ('2024-05-01T…').
    if (!layout || (line[from + 4] === 0x2d && line[from + 10] === 0x54)) return false;
    this.srcText = null;
    this.dstText = null;
    const lastField = layout.fieldCount - 1;
    let field = 0;
    let fieldStart = from;
    // Fields split on every single space, as the model's string_split does (two spaces make an
    // empty field, which no check accepts). A control byte (a carriage return or tab inside a
    // value) leaves the line to the model rather than in the typed row.
    for (let index = from; index < to; index++) {
      const byte = line[index]!;
      if (byte === SPACE) {
        if (field === lastField || !this.checkField(line, fieldStart, index, field, layout)) return false;
        this.writeField(row, line, fieldStart, index, field, layout);
        field++;
        fieldStart = index + 1;
      } else if (byte < SPACE || byte === 0x7f) {
        return false;
      }
    }
    if (field !== lastField || !this.checkField(line, fieldStart, to, field, layout)) return false;
    // Every required field of the layout is present (layoutOf) and was checked non-null above.
    const values = this.fieldValue;
    if (values[layout.end]! < values[layout.start]!) return false;
    this.writeField(row, line, fieldStart, to, field, layout);
    this.writeComputed(row, layout);
    return true;
  }

  private writeField(row: TypedRow, line: Buffer, start: number, end: number, field: number, layout: Layout): void {
    const column = layout.column[field]!;
    if (column < 0 || this.fieldIsNull[field]) return;
    if (layout.integer[field]) row.setInteger(column, this.fieldValue, field);
    else row.setBytes(column, line, start, end);
  }

  /** Whether field `field` (line[start, end)) passes the model's check of it; keeps what the computed columns read. */
  private checkField(line: Buffer, start: number, end: number, field: number, layout: Layout): boolean {
    if (end === start) return false;
    const isNull = end - start === 1 && line[start] === 0x2d;
    this.fieldIsNull[field] = isNull ? 1 : 0;
    const kind = layout.kind[field]!;
    if (kind === LOG_STATUS_KIND) return isNull || (end - start === 2 && line[start] === 0x4f && line[start + 1] === 0x4b);
    if (isNull) return layout.required[field] === 0;
    if (kind === INTEGER_KIND) {
      // Decimal digits only (at most 15, so exact as a number); the model's digits_to_bigint also
      // reads leading zeros. Parsed in place rather than by a function returning number | null:
      // a value past 2^30 (every timestamp) leaves a call as a heap number.
      if (end - start > 15) return false;
      let value = 0;
      for (let index = start; index < end; index++) {
        const digit = line[index]! - 48;
        if (digit < 0 || digit > 9) return false;
        value = value * 10 + digit;
      }
      if (value < layout.min[field]! || value > layout.max[field]!) return false;
      this.fieldValue[field] = value;
    } else if (kind === ADDRESS_KIND) {
      if (ipv4(line, start, end, field === layout.src ? this.srcV4 : field === layout.dst ? this.dstV4 : undefined)) return true;
      // IPv6: typed only when written in its canonical form (RFC 5952), as the row keeps it.
      const text = line.toString('latin1', start, end);
      if (!text.includes(':') || ipCanonical(text) !== text) return false;
      if (field === layout.src) this.srcText = text;
      else if (field === layout.dst) this.dstText = text;
    } else if (kind === ONE_OF_KIND) {
      return oneOf(line, start, end, layout.values[field]!);
    }
    return true;
  }

  /**
   * After the line's fields, the computed columns: the Community ID (NULL where the SQL macro
   * gives NULL: a port missing for a protocol that hashes ports, addresses of two families) and
   * the public flags. Final values: flows_in_hour computes neither again.
   */
  private writeComputed(row: TypedRow, layout: Layout): void {
    const srcText = this.srcText;
    const dstText = this.dstText;
    const { srcPort, dstPort } = layout;
    const src = srcText ? parseIp(srcText)!.bytes : this.srcV4;
    const dst = dstText ? parseIp(dstText)!.bytes : this.dstV4;
    const values = this.fieldValue;
    const srcPortValue = srcPort >= 0 && !this.fieldIsNull[srcPort] ? values[srcPort]! : null;
    const dstPortValue = dstPort >= 0 && !this.fieldIsNull[dstPort] ? values[dstPort]! : null;
    if (writeCommunityIdV1(src, dst, srcPortValue, dstPortValue, values[layout.protocol]!, 0, this.communityId, 0)) {
      row.setBytes(COMMUNITY_ID_COLUMN, this.communityId, 0, COMMUNITY_ID_V1_LENGTH);
    }
    row.setBoolean(SRC_IS_PUBLIC_COLUMN, srcText ? ipIsPublic(srcText)! : ipv4BytesArePublic(this.srcV4));
    row.setBoolean(DST_IS_PUBLIC_COLUMN, dstText ? ipIsPublic(dstText)! : ipv4BytesArePublic(this.dstV4));
  }
}

/** Where each field of a format goes; null when the model must see the whole object (an unknown or repeated field, a required one missing). */
function layoutOf(format: string): Layout | null {
  const names = format.split(' ');
  if (names.length > MAX_FIELDS || new Set(names).size !== names.length) return null;
  if (!names.every((name): name is AwsVpcField => (AWS_VPC_FIELDS as readonly string[]).includes(name))) return null;
  if (!REQUIRED.every((name) => name === 'version' || names.includes(name))) return null;
  const rules = names.map(ruleOf);
  return {
    fieldCount: names.length,
    kind: Uint8Array.from(rules, (rule) => KIND_OF[rule.kind]),
    min: Float64Array.from(rules, (rule) => (rule.kind === 'integer' ? rule.min : 0)),
    max: Float64Array.from(rules, (rule) => (rule.kind === 'integer' ? rule.max : 0)),
    values: rules.map((rule) => (rule.kind === 'one-of' ? rule.values : null)),
    required: Uint8Array.from(names, (name) => (FIELD_RULES[name]?.required ? 1 : 0)),
    src: names.indexOf('srcaddr'),
    dst: names.indexOf('dstaddr'),
    srcPort: names.indexOf('srcport'),
    dstPort: names.indexOf('dstport'),
    protocol: names.indexOf('protocol'),
    start: names.indexOf('start'),
    end: names.indexOf('end'),
    column: Int16Array.from(names, (name) => (name === 'log-status' ? -1 : columnIndex(columnOf(name)))),
    integer: Uint8Array.from(names, (name) => {
      const type = TYPED_FILE_COLUMNS[columnIndex(columnOf(name))]?.type;
      return type === 'INTEGER' || type === 'BIGINT' ? 1 : 0;
    }),
  };
}

function oneOf(line: Buffer, from: number, to: number, values: readonly string[]): boolean {
  for (let index = 0; index < values.length; index++) if (matches(line, from, to, values[index]!)) return true;
  return false;
}

function matches(line: Buffer, from: number, to: number, value: string): boolean {
  if (to - from !== value.length) return false;
  for (let index = 0; index < value.length; index++) if (line[from + index] !== value.charCodeAt(index)) return false;
  return true;
}

/** A strict dotted quad read in place (no leading zeros, octets 0-255), into `bytes` when given. */
function ipv4(line: Buffer, from: number, to: number, bytes: Uint8Array | undefined): boolean {
  let octet = 0;
  let digits = 0;
  let count = 0;
  for (let index = from; index <= to; index++) {
    const byte = index < to ? line[index]! : 0x2e;
    if (byte === 0x2e) {
      if (digits === 0 || count === 4) return false;
      if (bytes) bytes[count] = octet;
      count++;
      octet = 0;
      digits = 0;
    } else if (byte >= 48 && byte <= 57) {
      if (digits > 0 && octet === 0) return false;
      octet = octet * 10 + (byte - 48);
      if (++digits > 3 || octet > 255) return false;
    } else {
      return false;
    }
  }
  return count === 4;
}
