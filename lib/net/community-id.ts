import crypto from 'node:crypto';
import { parseIp } from './ip.ts';

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

function pairs(...entries: [number, number][]): ReadonlyMap<number, number> {
  return new Map(entries.flatMap(([a, b]) => [[a, b], [b, a]] as [number, number][]));
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

// One-shot hashing (Node >= 20.12) is about 3x faster per flow than a Hash object.
const sha1Base64: (data: Uint8Array) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha1', data, 'base64') : (data) => crypto.createHash('sha1').update(data).digest('base64');

/**
 * Community ID v1 of addresses given as their 4 or 16 network-order bytes: what staging computes
 * per flow record (lib/sources/aws-vpc-community-ids.ts) without building address texts.
 */
export function communityIdV1OfBytes(src: Uint8Array, dst: Uint8Array, srcPortIn: number | null, dstPortIn: number | null, protocol: number | null, seed: number | null = 0): string | null {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) return null;
  if (!isUint(protocol, 255) || !isUint(seed, 0xffff)) return null;

  const hasPorts = PORT_PROTOCOLS.has(protocol);
  let srcPort = 0;
  let dstPort = 0;
  let oneWay = false;
  if (hasPorts) {
    if (!isUint(srcPortIn, 0xffff) || !isUint(dstPortIn, 0xffff)) return null;
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
  // seed (2) . a . b . proto (1) . padding (1) . ports (2 + 2, for protocols that have them);
  // written into a reused buffer of the exact length: hashing is synchronous and this runs once
  // per flow, so it allocates nothing.
  const length = src.length;
  const input = length === 4 ? (hasPorts ? V4_PORTS_INPUT : V4_INPUT) : hasPorts ? V6_PORTS_INPUT : V6_INPUT;
  input.writeUInt16BE(seed, 0);
  input.set(inOrder ? src : dst, 2);
  input.set(inOrder ? dst : src, 2 + length);
  let offset = 2 + length * 2;
  input[offset++] = protocol;
  input[offset++] = 0;
  if (hasPorts) {
    input.writeUInt16BE(inOrder ? srcPort : dstPort, offset);
    input.writeUInt16BE(inOrder ? dstPort : srcPort, offset + 2);
  }
  return `1:${sha1Base64(input)}`;
}

const V4_INPUT = Buffer.alloc(2 + 4 * 2 + 2);
const V4_PORTS_INPUT = Buffer.alloc(2 + 4 * 2 + 2 + 4);
const V6_INPUT = Buffer.alloc(2 + 16 * 2 + 2);
const V6_PORTS_INPUT = Buffer.alloc(2 + 16 * 2 + 2 + 4);
