import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_VLAN,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_BSD,
  LINKTYPE_RAW_OPENBSD,
} from './link-types.ts';

/** Why a packet did not yield a flow key; every outcome has a counter. */
export const DecodeStatus = {
  ok: 0,
  /** Not IPv4/IPv6 (ARP, LLDP, …): counted, not aggregated. */
  nonIp: 1,
  /** The link type is not one the decoder knows. */
  unknownLinkType: 2,
  /** The IP header itself is cut short or invalid: no addresses, so no flow. */
  malformed: 3,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

export const Fragment = { none: 0, first: 1, later: 2 } as const;

/**
 * The decoder's output, reused for every packet so that decoding allocates nothing: addresses
 * are offsets into `buf`, valid until the next packet is decoded.
 */
export interface DecodedPacket {
  buf: Buffer;
  version: 4 | 6;
  srcOff: number;
  dstOff: number;
  protocol: number;
  /** Ports for TCP/UDP/SCTP/UDP-Lite; ICMP type and code for ICMP/ICMPv6; 0 otherwise. */
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** IPv4 total length, or IPv6 payload length + 40. */
  ipBytes: number;
  fragment: 0 | 1 | 2;
  /** IPv4 identification or IPv6 fragment identification (fragments only). */
  fragmentId: number;
  /** The transport header was cut off by the snap length (or the packet is a later fragment). */
  l4Missing: boolean;
}

export function newDecodedPacket(): DecodedPacket {
  return {
    buf: Buffer.alloc(0),
    version: 4,
    srcOff: 0,
    dstOff: 0,
    protocol: 0,
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    ipBytes: 0,
    fragment: 0,
    fragmentId: 0,
    l4Missing: false,
  };
}

/**
 * Decodes one captured frame (bytes `buf[off, off+capLen)`, `origLen` on the wire) of the given
 * link type into `out`. Pure: no I/O, no allocation.
 */
export function decodePacket(buf: Buffer, off: number, capLen: number, linkType: number, out: DecodedPacket, origLen = capLen): DecodeStatus {
  const end = off + capLen;
  let p = off;
  let etherType: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (capLen < 14) return DecodeStatus.malformed;
      etherType = (buf[p + 12]! << 8) | buf[p + 13]!;
      p += 14;
      break;
    case LINKTYPE_LINUX_SLL:
      if (capLen < 16) return DecodeStatus.malformed;
      etherType = (buf[p + 14]! << 8) | buf[p + 15]!;
      p += 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (capLen < 20) return DecodeStatus.malformed;
      etherType = (buf[p]! << 8) | buf[p + 1]!;
      p += 20;
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (capLen < 4) return DecodeStatus.malformed;
      // NULL is in the capturing host's byte order; a family never exceeds 0xffff, which tells the order.
      let family = buf.readUInt32LE(p);
      if (linkType === LINKTYPE_LOOP || family > 0xffff) family = buf.readUInt32BE(p);
      p += 4;
      if (family === 2) etherType = ETHERTYPE_IPV4;
      else if (family === 10 || family === 24 || family === 28 || family === 30) etherType = ETHERTYPE_IPV6;
      else return DecodeStatus.nonIp;
      break;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD:
    case LINKTYPE_RAW_OPENBSD:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6: {
      if (capLen < 1) return DecodeStatus.malformed;
      const version = buf[p]! >> 4;
      if (version === 4) etherType = ETHERTYPE_IPV4;
      else if (version === 6) etherType = ETHERTYPE_IPV6;
      else return DecodeStatus.nonIp;
      break;
    }
    default:
      return DecodeStatus.unknownLinkType;
  }
  // 802.1Q and QinQ tags, any depth.
  while (etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD) {
    if (p + 4 > end) return DecodeStatus.malformed;
    etherType = (buf[p + 2]! << 8) | buf[p + 3]!;
    p += 4;
  }
  out.buf = buf;
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;
  out.fragment = 0;
  out.fragmentId = 0;
  out.l4Missing = false;
  // What the wire length says the IP packet is: the fallback when its own length field is 0
  // (TSO/GSO "BIG TCP" packets captured on the sending host, IPv6 jumbograms).
  const wireBytes = Math.max(0, origLen - (p - off));
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(buf, p, end, out, wireBytes);
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(buf, p, end, out, wireBytes);
  return DecodeStatus.nonIp;
}

function decodeIpv4(buf: Buffer, p: number, end: number, out: DecodedPacket, wireBytes: number): DecodeStatus {
  if (p + 20 > end) return DecodeStatus.malformed;
  const b0 = buf[p]!;
  const ihl = (b0 & 0x0f) * 4;
  if (b0 >> 4 !== 4 || ihl < 20) return DecodeStatus.malformed;
  out.version = 4;
  const totalLength = (buf[p + 2]! << 8) | buf[p + 3]!;
  out.ipBytes = totalLength === 0 ? wireBytes : totalLength;
  out.protocol = buf[p + 9]!;
  out.srcOff = p + 12;
  out.dstOff = p + 16;
  const fragField = (buf[p + 6]! << 8) | buf[p + 7]!;
  const offset = fragField & 0x1fff;
  if (offset !== 0 || (fragField & 0x2000) !== 0) {
    out.fragment = offset === 0 ? 1 : 2;
    out.fragmentId = (buf[p + 4]! << 8) | buf[p + 5]!;
    // A later fragment carries payload bytes where a transport header would be: never read ports from it.
    if (offset !== 0) {
      out.l4Missing = true;
      return DecodeStatus.ok;
    }
  }
  decodeTransport(buf, p + ihl, end, out, 1);
  return DecodeStatus.ok;
}

function decodeIpv6(buf: Buffer, p: number, end: number, out: DecodedPacket, wireBytes: number): DecodeStatus {
  if (p + 40 > end) return DecodeStatus.malformed;
  if (buf[p]! >> 4 !== 6) return DecodeStatus.malformed;
  out.version = 6;
  const payloadLength = (buf[p + 4]! << 8) | buf[p + 5]!;
  out.ipBytes = payloadLength === 0 ? Math.max(40, wireBytes) : payloadLength + 40;
  out.srcOff = p + 8;
  out.dstOff = p + 24;
  let next = buf[p + 6]!;
  let q = p + 40;
  // Walk the extension header chain to the upper-layer protocol.
  for (;;) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140 || next === 253 || next === 254) {
      // Hop-by-hop, routing, destination options, mobility, HIP, shim6, experimental: length in 8-octet units, not counting the first 8.
      if (q + 2 > end) break;
      const following = buf[q]!;
      q += (buf[q + 1]! + 1) * 8;
      next = following;
    } else if (next === 44) {
      if (q + 8 > end) break;
      const following = buf[q]!;
      const offsetField = (buf[q + 2]! << 8) | buf[q + 3]!;
      const fragOffset = offsetField >> 3;
      const more = offsetField & 1;
      out.fragmentId = buf.readUInt32BE(q + 4);
      q += 8;
      next = following;
      if (fragOffset !== 0) {
        out.fragment = 2;
        out.protocol = next;
        out.l4Missing = true;
        return DecodeStatus.ok;
      }
      // An atomic fragment (offset 0, no more) is a whole packet.
      if (more) out.fragment = 1;
    } else if (next === 51) {
      // Authentication header: length in 4-octet units, not counting the first 2.
      if (q + 2 > end) break;
      const following = buf[q]!;
      q += (buf[q + 1]! + 2) * 4;
      next = following;
    } else {
      out.protocol = next;
      decodeTransport(buf, q, end, out, 58);
      return DecodeStatus.ok;
    }
  }
  // The chain runs past the captured bytes: the upper-layer protocol is unknown.
  out.protocol = next;
  out.l4Missing = true;
  return DecodeStatus.ok;
}

function decodeTransport(buf: Buffer, q: number, end: number, out: DecodedPacket, icmpProtocol: number): void {
  const protocol = out.protocol;
  if (protocol === 6) {
    if (q + 14 > end) {
      out.l4Missing = true;
      return;
    }
    out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
    out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
    out.tcpFlags = buf[q + 13]!;
  } else if (protocol === 17 || protocol === 132 || protocol === 136) {
    if (q + 4 > end) {
      out.l4Missing = true;
      return;
    }
    out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
    out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
  } else if (protocol === icmpProtocol) {
    if (q + 2 > end) {
      out.l4Missing = true;
      return;
    }
    out.srcPort = buf[q]!;
    out.dstPort = buf[q + 1]!;
  }
}
