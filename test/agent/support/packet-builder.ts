/**
 * Builds frames byte by byte for parser tests, the crash test and the benchmark. Checksums are
 * left zero: no reader used here checks them.
 */
import { parseIp } from '../../../agent/flow/ip-text.ts';

export interface TransportSpec {
  protocol: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;
  srcPort?: number;
  dstPort?: number;
  /** ICMP type/code. */
  type?: number;
  code?: number;
  tcpFlags?: number;
  payload?: number;
}

export function ipPacket(src: string, dst: string, t: TransportSpec, options: { ipId?: number; ipv6Ext?: Buffer; protocolOverride?: number } = {}): Buffer {
  const l4 = transport(t);
  const proto = protocolNumber(t.protocol);
  const s = parseIp(src)!;
  const d = parseIp(dst)!;
  if (s.length === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + l4.length, 2);
    h.writeUInt16BE(options.ipId ?? 1, 4);
    h[8] = 64;
    h[9] = options.protocolOverride ?? proto;
    s.copy(h, 12);
    d.copy(h, 16);
    return Buffer.concat([h, l4]);
  }
  const ext = options.ipv6Ext ?? Buffer.alloc(0);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(ext.length + l4.length, 4);
  h[6] = ext.length > 0 ? (options.protocolOverride ?? 0) : proto;
  h[7] = 64;
  s.copy(h, 8);
  d.copy(h, 24);
  return Buffer.concat([h, ext, l4]);
}

export function protocolNumber(p: TransportSpec['protocol']): number {
  if (typeof p === 'number') return p;
  return { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[p];
}

function transport(t: TransportSpec): Buffer {
  const payload = Buffer.alloc(t.payload ?? 0, 0xab);
  const p = protocolNumber(t.protocol);
  if (p === 6) {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(t.srcPort ?? 0, 0);
    h.writeUInt16BE(t.dstPort ?? 0, 2);
    h[12] = 5 << 4;
    h[13] = t.tcpFlags ?? 0x10;
    return Buffer.concat([h, payload]);
  }
  if (p === 17) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(t.srcPort ?? 0, 0);
    h.writeUInt16BE(t.dstPort ?? 0, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([h, payload]);
  }
  if (p === 1 || p === 58) {
    const h = Buffer.alloc(8);
    h[0] = t.type ?? 8;
    h[1] = t.code ?? 0;
    return Buffer.concat([h, payload]);
  }
  return payload;
}

/** An IPv6 extension header of the given kind carrying `next`, padded to `units` × 8 bytes. */
export function ipv6ExtensionHeader(next: number, units = 1): Buffer {
  const h = Buffer.alloc(units * 8);
  h[0] = next;
  h[1] = units - 1;
  return h;
}

const MAC = Buffer.from('020000000001020000000002', 'hex');

export function ethernet(ip: Buffer, vlanTags: number[] = [], etherTypeOverride?: number): Buffer {
  const parts: Buffer[] = [MAC];
  for (const [i, tag] of vlanTags.entries()) {
    const v = Buffer.alloc(4);
    v.writeUInt16BE(i === 0 && vlanTags.length > 1 ? 0x88a8 : 0x8100, 0);
    v.writeUInt16BE(tag, 2);
    parts.push(v);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(etherTypeOverride ?? (ip[0]! >> 4 === 6 ? 0x86dd : 0x0800), 0);
  parts.push(type, ip);
  return Buffer.concat(parts);
}

export function linuxSll(ip: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
}

export function linuxSll2(ip: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[11] = 6;
  return Buffer.concat([h, ip]);
}

/** BSD loopback (DLT_NULL): the address family in the capturing host's byte order. */
export function bsdNull(ip: Buffer, littleEndian = true, v6Family = 30): Buffer {
  const h = Buffer.alloc(4);
  const family = ip[0]! >> 4 === 6 ? v6Family : 2;
  if (littleEndian) h.writeUInt32LE(family, 0);
  else h.writeUInt32BE(family, 0);
  return Buffer.concat([h, ip]);
}
