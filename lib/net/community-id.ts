import { parseIp } from './ip.ts';
import { SHA1_BASE64_LENGTH, sha1SingleBlockBase64 } from './sha1-single-block.ts';

/**
 * Community ID v1 (corelight/community-id-spec): the TypeScript reference for the SQL macros in
 * sql/macros/10_community_id.sql, which tests hold equal to it. Same rules: both directions of a
 * flow give the same id; null (never an exception) for an invalid address, mixed address
 * families, a missing or out-of-range port of a port-carrying protocol, a protocol outside 0-255
 * or a seed outside 0-65535.
 */

export interface FlowTuple {
  srcIp: string | null;
  dstIp: string | null;
  /** The source port; for ICMP and ICMPv6 the message type. */
  srcPort: number | null;
  /** The destination port; for ICMP and ICMPv6 the message code. */
  dstPort: number | null;
  /** IANA protocol number. */
  protocol: number | null;
}

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;

/** Protocols whose ports (or ICMP type and code) are part of the hash. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP]);

/** PORT_PROTOCOLS as a table by protocol number: read once per flow, where a Set lookup costs more. */
const HAS_PORTS = Uint8Array.from({ length: 256 }, (_, protocol) => (PORT_PROTOCOLS.has(protocol) ? 1 : 0));

function pairs(...entries: [number, number][]): ReadonlyMap<number, number> {
  return new Map(
    entries.flatMap(
      ([a, b]) =>
        [
          [a, b],
          [b, a],
        ] as [number, number][],
    ),
  );
}

/**
 * The two-way ICMP message types and their counterparts, per protocol (from pycommunityid's
 * icmp.py and icmp6.py, after Zeek). A type with a counterpart hashes as (type, counterpart) and is
 * ordered like ports; any other type is one-way and hashes as (type, code) in the given direction.
 * sql/macros/10_community_id.sql spells out the same table; a test compares them on every type.
 */
export const ICMP_COUNTERPARTS: Readonly<Record<typeof PROTO_ICMP | typeof PROTO_ICMPV6, ReadonlyMap<number, number>>> = {
  [PROTO_ICMP]: pairs(
    [8, 0], // echo, echo reply
    [13, 14], // timestamp, timestamp reply
    [15, 16], // information request, reply
    [10, 9], // router solicitation, advertisement
    [17, 18], // address mask request, reply
  ),
  [PROTO_ICMPV6]: pairs(
    [128, 129], // echo request, reply
    [130, 131], // multicast listener query, report
    [133, 134], // router solicitation, advertisement
    [135, 136], // neighbor solicitation, advertisement
    [139, 140], // node information query, response
    [144, 145], // home agent address discovery request, reply
  ),
};

function isUint(value: number | null, max: number): value is number {
  return value !== null && Number.isInteger(value) && value >= 0 && value <= max;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  // A loop: for 4 or 16 bytes it is cheaper than a call into Buffer.compare.
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) return a[index]! < b[index]! ? -1 : 1;
  }
  return 0;
}

/** Community ID v1 of a flow tuple: '1:' + base64 of the SHA-1 of the ordered tuple. */
export function communityIdV1(tuple: FlowTuple, seed: number | null = 0): string | null {
  const src = parseIp(tuple.srcIp);
  const dst = parseIp(tuple.dstIp);
  if (!src || !dst) return null;
  return communityIdV1OfBytes(src.bytes, dst.bytes, tuple.srcPort, tuple.dstPort, tuple.protocol, seed);
}

/**
 * Community ID v1 of addresses given as their 4 or 16 network-order bytes, for callers holding
 * addresses as bytes, without building address texts.
 */
export function communityIdV1OfBytes(src: Uint8Array, dst: Uint8Array, srcPort: number | null, dstPort: number | null, protocol: number | null, seed: number | null = 0): string | null {
  return writeCommunityIdV1(src, dst, srcPort, dstPort, protocol, seed, ID_TEXT, 0) ? ID_TEXT.toString('latin1') : null;
}

/** Bytes of a Community ID v1 text: '1:' and the 28 characters of base64 of a SHA-1. */
export const COMMUNITY_ID_V1_LENGTH = 2 + SHA1_BASE64_LENGTH;

/**
 * Writes the Community ID v1 of the tuple as its ASCII text (COMMUNITY_ID_V1_LENGTH bytes) into
 * `out` at `offset` and returns true, or returns false (writing nothing) where communityIdV1 is
 * null. What staging computes per flow record (lib/sources/aws-vpc-line-typer.ts), with no string
 * and no call into node:crypto per flow.
 */
export function writeCommunityIdV1(
  src: Uint8Array,
  dst: Uint8Array,
  srcPortIn: number | null,
  dstPortIn: number | null,
  protocol: number | null,
  seed: number | null,
  out: Uint8Array,
  offset: number,
): boolean {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) return false;
  if (!isUint(protocol, 255) || !isUint(seed, 0xffff)) return false;

  const hasPorts = HAS_PORTS[protocol] === 1;
  let srcPort = 0;
  let dstPort = 0;
  let oneWay = false;
  if (hasPorts) {
    if (!isUint(srcPortIn, 0xffff) || !isUint(dstPortIn, 0xffff)) return false;
    srcPort = srcPortIn;
    dstPort = dstPortIn;
    if (protocol === PROTO_ICMP || protocol === PROTO_ICMPV6) {
      const counterpart = ICMP_COUNTERPARTS[protocol].get(srcPort);
      if (counterpart === undefined) oneWay = true;
      else dstPort = counterpart;
    }
  }

  const order = compareBytes(src, dst);
  const inOrder = oneWay || order < 0 || (order === 0 && srcPort <= dstPort);
  // seed (2) . a . b . proto (1) . padding (1) . ports (2 + 2, for protocols that have them),
  // written into one reused buffer: hashing is synchronous, so nothing is allocated per flow.
  const length = src.length;
  const input = INPUT;
  input[0] = seed >>> 8;
  input[1] = seed & 0xff;
  const a = inOrder ? src : dst;
  const b = inOrder ? dst : src;
  // Byte loops: for 4 or 16 bytes they are cheaper than two calls into TypedArray.set.
  for (let index = 0; index < length; index++) input[2 + index] = a[index]!;
  for (let index = 0; index < length; index++) input[2 + length + index] = b[index]!;
  let end = 2 + length * 2;
  input[end++] = protocol;
  input[end++] = 0;
  if (hasPorts) {
    const portA = inOrder ? srcPort : dstPort;
    const portB = inOrder ? dstPort : srcPort;
    input[end++] = portA >>> 8;
    input[end++] = portA & 0xff;
    input[end++] = portB >>> 8;
    input[end++] = portB & 0xff;
  }
  out[offset] = 0x31; // '1'
  out[offset + 1] = 0x3a; // ':'
  sha1SingleBlockBase64(input, end, out, offset + 2);
  return true;
}

const INPUT = new Uint8Array(2 + 16 * 2 + 2 + 4);
const ID_TEXT = Buffer.alloc(COMMUNITY_ID_V1_LENGTH);
