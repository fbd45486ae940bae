import { AWS_VPC_DEFAULT_FORMAT } from '../../schemas/sources/aws-vpc.ts';
import { communityIdV1OfBytes } from '../net/community-id.ts';
import { parseIp } from '../net/ip.ts';
import type { LineAnnotator } from '../staging/stage-lines.ts';

const SPACE = 0x20;
const HEADER = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/;

/**
 * The Community ID of each AWS VPC Flow Logs text record, computed while the record is staged:
 * Node hashes a flow about five times faster than the SQL macros, and staging already holds the
 * line. The fields are located as the normalize model locates them (sql/normalize/
 * aws_vpc__records.sql): by the object's header line when its first line is one, else by the
 * configured format. Only the plain forms are read here (decimal ports and protocol, a valid
 * address at each end); for any other record, and for CloudWatch-prefixed lines, the annotation
 * is empty and the flows_in_hour model computes the id in SQL, so both paths give the same id.
 * A record the model rejects may still get an id here; it is never published.
 */
export class AwsVpcCommunityIds implements LineAnnotator {
  private positions: { src: number; dst: number; srcPort: number; dstPort: number; protocol: number; last: number } | null | undefined;

  constructor(private readonly configuredFormat: string = AWS_VPC_DEFAULT_FORMAT) {}

  annotate(line: Buffer, from: number, to: number): string {
    if (this.positions === undefined) {
      const text = line.toString('latin1', from, to);
      const isHeader = HEADER.test(text);
      this.positions = positionsOf(isHeader ? text : this.configuredFormat);
      if (isHeader) return '';
    }
    const positions = this.positions;
    // A CloudWatch Logs export line starts with an ISO timestamp ('2024-05-01T…'): left to SQL.
    if (!positions || (line[from + 4] === 0x2d && line[from + 10] === 0x54)) return '';
    const fields = splitFields(line, from, to, positions.last);
    if (!fields) return '';
    const protocol = decimal(line, fields[positions.protocol * 2]!, fields[positions.protocol * 2 + 1]!, 255);
    const srcPort = decimal(line, fields[positions.srcPort * 2]!, fields[positions.srcPort * 2 + 1]!, 65535);
    const dstPort = decimal(line, fields[positions.dstPort * 2]!, fields[positions.dstPort * 2 + 1]!, 65535);
    if (protocol === null || srcPort === null || dstPort === null) return '';
    const src = address(line, fields[positions.src * 2]!, fields[positions.src * 2 + 1]!, srcV4);
    const dst = address(line, fields[positions.dst * 2]!, fields[positions.dst * 2 + 1]!, dstV4);
    if (!src || !dst) return '';
    return communityIdV1OfBytes(src, dst, srcPort, dstPort, protocol) ?? '';
  }
}

function positionsOf(format: string): { src: number; dst: number; srcPort: number; dstPort: number; protocol: number; last: number } | null {
  const names = format.split(' ');
  const at = (name: string) => names.indexOf(name);
  const positions = { src: at('srcaddr'), dst: at('dstaddr'), srcPort: at('srcport'), dstPort: at('dstport'), protocol: at('protocol') };
  const all = Object.values(positions);
  if (all.some((position) => position < 0)) return null;
  return { ...positions, last: Math.max(...all) };
}

/** Start and end offsets of fields 0..last (split on every single space, as string_split does); null when the line is shorter. */
const fieldBounds = new Int32Array(2 * 64);
function splitFields(line: Buffer, from: number, to: number, last: number): Int32Array | null {
  if (last >= 64) return null;
  // A byte loop: for fields of a few bytes it is several times faster than indexOf calls.
  let field = 0;
  fieldBounds[0] = from;
  for (let index = from; index < to; index++) {
    if (line[index] !== SPACE) continue;
    fieldBounds[field * 2 + 1] = index;
    if (field === last) return fieldBounds;
    field++;
    fieldBounds[field * 2] = index + 1;
  }
  if (field < last) return null;
  fieldBounds[field * 2 + 1] = to;
  return fieldBounds;
}

function decimal(line: Buffer, from: number, to: number, max: number): number | null {
  if (to <= from || to - from > 5) return null;
  let value = 0;
  for (let index = from; index < to; index++) {
    const digit = line[index]! - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value <= max ? value : null;
}

// Scratch for the two IPv4 addresses of the line in hand: the id is computed before the next line.
const srcV4 = new Uint8Array(4);
const dstV4 = new Uint8Array(4);

/** The address bytes: a strict dotted quad read in place (into `v4`), IPv6 through the reference parser. */
function address(line: Buffer, from: number, to: number, v4: Uint8Array): Uint8Array | null {
  let octet = 0;
  let digits = 0;
  let count = 0;
  for (let index = from; index <= to; index++) {
    const byte = index < to ? line[index]! : 0x2e;
    if (byte === 0x2e) {
      if (digits === 0 || count === 4) return ipv6(line, from, to);
      v4[count++] = octet;
      octet = 0;
      digits = 0;
    } else if (byte >= 48 && byte <= 57) {
      // No leading zeros ('010' is ambiguous) and no octet over 255, as ip_canonical; an IPv6
      // text may start with decimal digits too ('2001:db8::1').
      if (digits > 0 && octet === 0) return ipv6(line, from, to);
      octet = octet * 10 + (byte - 48);
      if (++digits > 3 || octet > 255) return ipv6(line, from, to);
    } else {
      return ipv6(line, from, to);
    }
  }
  return count === 4 ? v4 : null;
}

function ipv6(line: Buffer, from: number, to: number): Uint8Array | null {
  if (line.indexOf(0x3a, from) < 0 || line.indexOf(0x3a, from) >= to) return null;
  const parsed = parseIp(line.toString('latin1', from, to));
  return parsed?.family === 6 ? parsed.bytes : null;
}
