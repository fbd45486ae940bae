import { describe, expect, it } from 'vitest';
import { ipv4Text, ipv6Text } from '../../agent/flow/ip-text.ts';
import * as L from '../../agent/pcap/link-types.ts';
import { decodePacket, DecodeStatus, newDecodedPacket } from '../../agent/pcap/packet-decoder.ts';
import { bsdNull, ethernet, ipPacket, ipv6ExtensionHeader, linuxSll, linuxSll2 } from './support/packet-builder.ts';

const udp4 = ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 5353, dstPort: 53, payload: 30 });
const tcp6 = ipPacket('2001:db8::1', '2001:db8::2', { protocol: 'tcp', srcPort: 443, dstPort: 50000, tcpFlags: 0x12, payload: 5 });

function fragment4(offsetUnits: number, more: boolean, id: number, payload: Buffer): Buffer {
  const ip = ipPacket('10.0.0.1', '10.0.0.2', { protocol: 17 }, { ipId: id });
  const h = Buffer.from(ip.subarray(0, 20));
  h.writeUInt16BE((more ? 0x2000 : 0) | offsetUnits, 6);
  h.writeUInt16BE(20 + payload.length, 2);
  return Buffer.concat([h, payload]);
}

function fragment6(offsetUnits: number, more: boolean, id: number, rest: Buffer): Buffer {
  const frag = Buffer.alloc(8);
  frag[0] = 17;
  frag.writeUInt16BE((offsetUnits << 3) | (more ? 1 : 0), 2);
  frag.writeUInt32BE(id, 4);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(8 + rest.length, 4);
  h[6] = 44;
  h[7] = 64;
  Buffer.from('20010db8000000000000000000000001', 'hex').copy(h, 8);
  Buffer.from('20010db8000000000000000000000002', 'hex').copy(h, 24);
  return Buffer.concat([h, frag, rest]);
}

const udpHeader = Buffer.from([0x13, 0x88, 0x00, 0x35, 0x0b, 0xc0, 0, 0]);

interface Case {
  description: string;
  linkType: number;
  frame: Buffer;
  /** Captured length when shorter than the frame (snap length). */
  capLen?: number;
  /** Length on the wire, when longer than the frame. */
  origLen?: number;
  status: DecodeStatus;
  expect?: Partial<{ src: string; dst: string; protocol: number; srcPort: number; dstPort: number; ipBytes: number; fragment: number; tcpFlags: number; l4Missing: boolean }>;
}

const cases: Case[] = [
  {
    description: 'Ethernet IPv4 UDP',
    linkType: L.LINKTYPE_ETHERNET,
    frame: ethernet(udp4),
    status: DecodeStatus.ok,
    expect: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, srcPort: 5353, dstPort: 53, ipBytes: 58 },
  },
  {
    description: 'Ethernet IPv6 TCP with flags',
    linkType: L.LINKTYPE_ETHERNET,
    frame: ethernet(tcp6),
    status: DecodeStatus.ok,
    expect: { src: '2001:db8::1', dst: '2001:db8::2', protocol: 6, srcPort: 443, dstPort: 50000, tcpFlags: 0x12, ipBytes: 65 },
  },
  {
    description: 'Ethernet padding does not count: bytes are the IP total length',
    linkType: L.LINKTYPE_ETHERNET,
    frame: Buffer.concat([ethernet(ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 1, dstPort: 2 })), Buffer.alloc(18)]),
    status: DecodeStatus.ok,
    expect: { ipBytes: 28 },
  },
  { description: '802.1Q VLAN', linkType: L.LINKTYPE_ETHERNET, frame: ethernet(udp4, [100]), status: DecodeStatus.ok, expect: { srcPort: 5353, dstPort: 53 } },
  { description: 'QinQ (802.1ad outer, 802.1Q inner)', linkType: L.LINKTYPE_ETHERNET, frame: ethernet(tcp6, [10, 20]), status: DecodeStatus.ok, expect: { protocol: 6, srcPort: 443 } },
  { description: 'ARP is counted as non-IP', linkType: L.LINKTYPE_ETHERNET, frame: ethernet(Buffer.alloc(28), [], 0x0806), status: DecodeStatus.nonIp },
  { description: 'Linux cooked v1', linkType: L.LINKTYPE_LINUX_SLL, frame: linuxSll(udp4), status: DecodeStatus.ok, expect: { dstPort: 53 } },
  { description: 'Linux cooked v2', linkType: L.LINKTYPE_LINUX_SLL2, frame: linuxSll2(tcp6), status: DecodeStatus.ok, expect: { srcPort: 443 } },
  { description: 'raw IP (v4)', linkType: L.LINKTYPE_RAW, frame: udp4, status: DecodeStatus.ok, expect: { src: '10.0.0.1' } },
  { description: 'raw IP (v6, DLT 12)', linkType: L.LINKTYPE_RAW_BSD, frame: tcp6, status: DecodeStatus.ok, expect: { src: '2001:db8::1' } },
  { description: 'LINKTYPE_IPV4', linkType: L.LINKTYPE_IPV4, frame: udp4, status: DecodeStatus.ok, expect: { protocol: 17 } },
  { description: 'BSD loopback, little-endian AF_INET', linkType: L.LINKTYPE_NULL, frame: bsdNull(udp4, true), status: DecodeStatus.ok, expect: { srcPort: 5353 } },
  { description: 'BSD loopback, big-endian AF_INET6 (28, FreeBSD)', linkType: L.LINKTYPE_NULL, frame: bsdNull(tcp6, false, 28), status: DecodeStatus.ok, expect: { srcPort: 443 } },
  { description: 'BSD loopback, AF_INET6 = 24 (NetBSD/OpenBSD)', linkType: L.LINKTYPE_NULL, frame: bsdNull(tcp6, true, 24), status: DecodeStatus.ok, expect: { protocol: 6 } },
  { description: 'OpenBSD LOOP (always big-endian)', linkType: L.LINKTYPE_LOOP, frame: bsdNull(udp4, false), status: DecodeStatus.ok, expect: { protocol: 17 } },
  { description: 'BSD loopback, unknown family', linkType: L.LINKTYPE_NULL, frame: Buffer.concat([Buffer.from([7, 0, 0, 0]), udp4]), status: DecodeStatus.nonIp },
  { description: 'unknown link type', linkType: 147, frame: udp4, status: DecodeStatus.unknownLinkType },
  {
    description: 'IPv4 with options: transport after IHL',
    linkType: L.LINKTYPE_RAW,
    frame: (() => {
      const base = ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 7, dstPort: 9 });
      const h = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 0])]);
      h[0] = 0x46;
      h.writeUInt16BE(24 + 8, 2);
      return Buffer.concat([h, base.subarray(20)]);
    })(),
    status: DecodeStatus.ok,
    expect: { srcPort: 7, dstPort: 9, ipBytes: 32 },
  },
  {
    description: 'ICMP echo: type and code in the port fields',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'icmp', type: 8, code: 0, payload: 56 }),
    status: DecodeStatus.ok,
    expect: { protocol: 1, srcPort: 8, dstPort: 0, ipBytes: 84 },
  },
  {
    description: 'ICMPv6 port unreachable',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket('::1', '::1', { protocol: 'icmpv6', type: 1, code: 4 }),
    status: DecodeStatus.ok,
    expect: { protocol: 58, srcPort: 1, dstPort: 4 },
  },
  {
    description: 'IPv6 hop-by-hop + destination options + routing before UDP',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket(
      'fe80::1',
      'ff02::16',
      { protocol: 'udp', srcPort: 546, dstPort: 547 },
      { protocolOverride: 0, ipv6Ext: Buffer.concat([ipv6ExtensionHeader(60), ipv6ExtensionHeader(43, 3), ipv6ExtensionHeader(17, 2)]) },
    ),
    status: DecodeStatus.ok,
    expect: { protocol: 17, srcPort: 546, dstPort: 547, src: 'fe80::1', dst: 'ff02::16' },
  },
  {
    description: 'IPv6 authentication header (4-octet units) before TCP',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket(
      '2001:db8::1',
      '2001:db8::2',
      { protocol: 'tcp', srcPort: 22, dstPort: 40000, tcpFlags: 0x18 },
      { protocolOverride: 51, ipv6Ext: Buffer.concat([Buffer.from([6, 4]), Buffer.alloc(22)]) },
    ),
    status: DecodeStatus.ok,
    expect: { protocol: 6, srcPort: 22, tcpFlags: 0x18 },
  },
  {
    description: 'IPv6 extension chain cut by the snap length: protocol unknown, counted',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket('2001:db8::1', '2001:db8::2', { protocol: 'udp', srcPort: 1, dstPort: 2 }, { protocolOverride: 0, ipv6Ext: ipv6ExtensionHeader(17, 4) }),
    capLen: 44,
    status: DecodeStatus.ok,
    expect: { l4Missing: true, srcPort: 0, dstPort: 0 },
  },
  {
    description: 'TCP header cut by the snap length',
    linkType: L.LINKTYPE_RAW,
    frame: ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'tcp', srcPort: 1, dstPort: 2 }),
    capLen: 30,
    status: DecodeStatus.ok,
    expect: { l4Missing: true, srcPort: 0, ipBytes: 40 },
  },
  {
    description: 'IPv4 first fragment keeps its ports',
    linkType: L.LINKTYPE_RAW,
    frame: fragment4(0, true, 77, Buffer.concat([udpHeader, Buffer.alloc(1472)])),
    status: DecodeStatus.ok,
    expect: { fragment: 1, srcPort: 5000, dstPort: 53 },
  },
  {
    description: 'IPv4 later fragment: payload that looks like ports is never read as ports',
    linkType: L.LINKTYPE_RAW,
    frame: fragment4(185, false, 77, Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])),
    status: DecodeStatus.ok,
    expect: { fragment: 2, srcPort: 0, dstPort: 0, l4Missing: true, ipBytes: 28 },
  },
  {
    description: 'IPv6 first fragment keeps its ports',
    linkType: L.LINKTYPE_RAW,
    frame: fragment6(0, true, 9, Buffer.concat([udpHeader, Buffer.alloc(100)])),
    status: DecodeStatus.ok,
    expect: { fragment: 1, protocol: 17, srcPort: 5000 },
  },
  {
    description: 'IPv6 later fragment: no ports read',
    linkType: L.LINKTYPE_RAW,
    frame: fragment6(154, false, 9, Buffer.from([0xde, 0xad, 0xbe, 0xef])),
    status: DecodeStatus.ok,
    expect: { fragment: 2, protocol: 17, srcPort: 0, l4Missing: true },
  },
  {
    description: 'IPv6 atomic fragment (offset 0, no more) is a whole packet',
    linkType: L.LINKTYPE_RAW,
    frame: fragment6(0, false, 9, udpHeader),
    status: DecodeStatus.ok,
    expect: { fragment: 0, srcPort: 5000 },
  },
  {
    description: 'IPv4 total length 0 (GSO "BIG TCP" seen on the sender): bytes from the wire length',
    linkType: L.LINKTYPE_ETHERNET,
    frame: (() => {
      const ip = ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'tcp', srcPort: 1, dstPort: 2 });
      ip.writeUInt16BE(0, 2);
      return ethernet(ip);
    })(),
    origLen: 14 + 100_000,
    status: DecodeStatus.ok,
    expect: { ipBytes: 100_000, srcPort: 1 },
  },
  {
    description: 'IPv6 payload length 0 (jumbogram): bytes from the wire length',
    linkType: L.LINKTYPE_RAW,
    frame: (() => {
      const ip = ipPacket('::1', '::2', { protocol: 'udp', srcPort: 1, dstPort: 2 });
      ip.writeUInt16BE(0, 4);
      return ip;
    })(),
    origLen: 70_000,
    status: DecodeStatus.ok,
    expect: { ipBytes: 70_000 },
  },
  { description: 'IPv4 header cut short is malformed', linkType: L.LINKTYPE_RAW, frame: udp4.subarray(0, 12), status: DecodeStatus.malformed },
  { description: 'IPv4 with IHL < 5 is malformed', linkType: L.LINKTYPE_RAW, frame: Buffer.concat([Buffer.from([0x44]), udp4.subarray(1)]), status: DecodeStatus.malformed },
  { description: 'Ethernet frame shorter than its header', linkType: L.LINKTYPE_ETHERNET, frame: Buffer.alloc(10), status: DecodeStatus.malformed },
  { description: 'truncated VLAN tag', linkType: L.LINKTYPE_ETHERNET, frame: ethernet(Buffer.alloc(0), [5]).subarray(0, 15), status: DecodeStatus.malformed },
];

describe('decodePacket', () => {
  it.each(cases)('$description', ({ linkType, frame, capLen, origLen, status, expect: expected }) => {
    const out = newDecodedPacket();
    // Decode at a non-zero offset inside a larger buffer, as the stream parser does.
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), frame, Buffer.alloc(5, 0xee)]);
    expect(decodePacket(buf, 7, capLen ?? frame.length, linkType, out, origLen ?? frame.length)).toBe(status);
    if (!expected) return;
    const text = (off: number): string => (out.version === 4 ? ipv4Text(out.buf, off) : ipv6Text(out.buf, off));
    const actual = {
      src: text(out.srcOff),
      dst: text(out.dstOff),
      protocol: out.protocol,
      srcPort: out.srcPort,
      dstPort: out.dstPort,
      ipBytes: out.ipBytes,
      fragment: out.fragment,
      tcpFlags: out.tcpFlags,
      l4Missing: out.l4Missing,
    };
    expect(actual).toMatchObject(expected);
  });
});
