import { describe, expect, it } from 'vitest';
import { agentRecordSchema } from '../../schemas/agent-record.ts';
import { FlowPipeline } from '../../agent/flow/flow-pipeline.ts';
import { ipv6Text, parseIp } from '../../agent/flow/ip-text.ts';
import { LocalNetworks } from '../../agent/flow/local-networks.ts';
import { AgentMetrics } from '../../agent/metrics/agent-metrics.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../agent/pcap/link-types.ts';
import { ethernet, ipPacket } from './support/packet-builder.ts';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000;

function pipeline(local = new LocalNetworks(['10.0.0.0/24', 'fd00::/64'])): { p: FlowPipeline; metrics: AgentMetrics } {
  const metrics = new AgentMetrics();
  return { p: new FlowPipeline({ vmId: 'vm-1', intervalS: 60, local, metrics }), metrics };
}

function feed(p: FlowPipeline, frame: Buffer, tsUs: number, linkType = LINKTYPE_RAW): void {
  p.handle(frame, 0, frame.length, frame.length, linkType, tsUs, 0);
}

describe('flow aggregation', () => {
  it('one record per (5-tuple, direction) per interval with packets, IP bytes, OR of flags, first and last time', () => {
    const { p } = pipeline();
    const out = (flags: number, payload: number): Buffer => ipPacket('10.0.0.5', '198.51.100.7', { protocol: 'tcp', srcPort: 40000, dstPort: 443, tcpFlags: flags, payload });
    feed(p, out(0x02, 0), T0 + 1_000);
    feed(p, out(0x18, 100), T0 + 2_000_500);
    feed(p, out(0x11, 0), T0 + 59_999_999);
    feed(p, out(0x10, 0), T0 + 60_000_000); // next interval
    feed(p, ipPacket('198.51.100.7', '10.0.0.5', { protocol: 'tcp', srcPort: 443, dstPort: 40000, tcpFlags: 0x12 }), T0 + 1_500);
    feed(p, ipPacket('192.0.2.1', '192.0.2.2', { protocol: 'udp', srcPort: 1, dstPort: 2 }), T0 + 3);
    const records = p.takeAll();
    for (const r of records) expect(agentRecordSchema.parse(r)).toEqual(r);
    expect(records.map((r) => [r.interval_start_at, r.src_ip, r.src_port, r.direction, r.packets, r.bytes, r.tcp_flags, r.start_at, r.end_at])).toEqual([
      ['2026-01-02T03:04:00.000Z', '10.0.0.5', 40000, 'egress', 3, 40 + 140 + 40, 0x1b, '2026-01-02T03:04:00.001000Z', '2026-01-02T03:04:59.999999Z'],
      ['2026-01-02T03:04:00.000Z', '198.51.100.7', 443, 'ingress', 1, 40, 0x12, '2026-01-02T03:04:00.001500Z', '2026-01-02T03:04:00.001500Z'],
      ['2026-01-02T03:04:00.000Z', '192.0.2.1', 1, 'transit', 1, 28, 0, '2026-01-02T03:04:00.000003Z', '2026-01-02T03:04:00.000003Z'],
      ['2026-01-02T03:05:00.000Z', '10.0.0.5', 40000, 'egress', 1, 40, 0x10, '2026-01-02T03:05:00.000000Z', '2026-01-02T03:05:00.000000Z'],
    ]);
    expect(records[0]).toMatchObject({ v: 1, vm_id: 'vm-1', interval_s: 60, protocol: 6, dst_ip: '198.51.100.7', dst_port: 443 });
  });

  it('takeEndedBy closes only intervals that are over', () => {
    const { p } = pipeline();
    feed(p, ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 1, dstPort: 2 }), T0 + 5);
    feed(p, ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 1, dstPort: 2 }), T0 + 60_000_005);
    expect(p.takeEndedBy(T0 + 59_000_000)).toHaveLength(0);
    expect(p.takeEndedBy(T0 + 60_000_000)).toHaveLength(1);
    expect(p.takeEndedBy(T0 + 120_000_000)).toHaveLength(1);
    expect(p.aggregator.openFlows).toBe(0);
  });

  it('later fragments are counted in the flow of their first fragment; orphans under ports 0', () => {
    const { p, metrics } = pipeline();
    const frag = (offset: number, more: boolean, id: number, transport: boolean): Buffer => {
      const ip = ipPacket('10.0.0.1', '10.0.0.2', transport ? { protocol: 'udp', srcPort: 5000, dstPort: 53, payload: 100 } : { protocol: 17, payload: 200 }, { ipId: id });
      ip.writeUInt16BE((more ? 0x2000 : 0) | offset, 6);
      return ip;
    };
    feed(p, frag(0, true, 1, true), T0);
    feed(p, frag(14, true, 1, false), T0 + 1);
    feed(p, frag(40, false, 1, false), T0 + 2);
    feed(p, frag(40, false, 2, false), T0 + 3); // first fragment never seen
    const records = p.takeAll();
    expect(records.map((r) => [r.src_port, r.dst_port, r.packets, r.bytes])).toEqual([
      [5000, 53, 3, 128 + 228 + 228],
      [0, 0, 1, 228],
    ]);
    expect([metrics.ipFragments, metrics.ipFragmentsUnmatched]).toEqual([4, 1]);
  });

  it('counts what it cannot aggregate, by reason', () => {
    const { p, metrics } = pipeline();
    feed(p, ethernet(Buffer.alloc(28), [], 0x0806), T0, LINKTYPE_ETHERNET);
    feed(p, Buffer.from([0x45, 0, 0]), T0);
    feed(p, ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp' }), T0, 999);
    expect(metrics.packetsSeen).toBe(3);
    expect(metrics.packetsSkipped).toEqual({ non_ip: 1, malformed: 1, unknown_link_type: 1 });
    expect(p.takeAll()).toEqual([]);
  });

  it('direction from local networks: discovered interface addresses include loopback', () => {
    const local = LocalNetworks.discover();
    expect(local.contains(parseIp('127.0.0.1')!, 0, 4)).toBe(true);
    const v6 = new LocalNetworks(['fd00::/8', '192.168.1.7/32']);
    expect(v6.direction(Buffer.concat([parseIp('fd12::1')!, parseIp('2001:db8::1')!]), 0, 16, 16)).toBe('egress');
    expect(v6.direction(Buffer.concat([parseIp('192.168.1.8')!, parseIp('192.168.1.7')!]), 0, 4, 4)).toBe('ingress');
    expect(() => new LocalNetworks(['10.0.0.0/33'])).toThrow(/not a CIDR block/);
  });

  it('IPv6 text is RFC 5952 canonical', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80::ABCD', 'fe80::abcd'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, canonical] of cases) expect(ipv6Text(parseIp(input)!, 0)).toBe(canonical);
  });
});
