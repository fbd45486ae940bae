import { execFileSync } from 'node:child_process';

/**
 * The independent reading: tshark's own per-packet dissection (no reassembly), aggregated here
 * with the agent's rules: 5-tuple per packet, bytes = IP total length (IPv6: payload + 40),
 * ICMP type/code as ports, later fragments in the flow of their first fragment.
 */
export interface IndependentFlow {
  packets: number;
  bytes: number;
  tcpFlags: number;
  firstUs: number;
  lastUs: number;
}

const FIELDS = [
  'frame.time_epoch',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.len',
  'ip.id',
  'ip.frag_offset',
  'ip.flags.mf',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'udp.srcport',
  'udp.dstport',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
] as const;

export function flowKey(protocol: number, src: string, srcPort: number, dst: string, dstPort: number): string {
  return `${protocol} ${src}:${srcPort} > ${dst}:${dstPort}`;
}

export function tsharkFlows(file: string): Map<string, IndependentFlow> {
  const args = ['-r', file, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=|'];
  for (const f of FIELDS) args.push('-e', f);
  const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  const flows = new Map<string, IndependentFlow>();
  const firstFragmentPorts = new Map<string, [number, number]>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const v = Object.fromEntries(line.split('|').map((value, i) => [FIELDS[i]!, value])) as Record<(typeof FIELDS)[number], string>;
    const layers = v['frame.protocols'].split(':');
    const isV4 = v['ip.src'] !== '' && (layers.indexOf('ip') < layers.indexOf('ipv6') || !layers.includes('ipv6'));
    if (v['ip.src'] === '' && v['ipv6.src'] === '') continue; // not IP (ARP): the agent counts it as non_ip
    const transport = layers.slice(layers.indexOf(isV4 ? 'ip' : 'ipv6') + 1).find((l) => ['tcp', 'udp', 'icmp', 'icmpv6', 'data'].includes(l));
    let protocol: number;
    let src: string;
    let dst: string;
    let bytes: number;
    let fragId: string | undefined;
    let laterFragment = false;
    let firstFragment = false;
    if (isV4) {
      protocol = Number(v['ip.proto']);
      [src, dst, bytes] = [v['ip.src'], v['ip.dst'], Number(v['ip.len'])];
      const offset = Number(v['ip.frag_offset'] || 0);
      laterFragment = offset > 0;
      firstFragment = offset === 0 && v['ip.flags.mf'] === '1';
      fragId = `${protocol}|${src}|${dst}|${Number(v['ip.id'])}`;
    } else {
      [src, dst, bytes] = [v['ipv6.src'], v['ipv6.dst'], Number(v['ipv6.plen']) + 40];
      const fragmented = v['ipv6.fraghdr.nxt'] !== '';
      protocol = transport === 'tcp' ? 6 : transport === 'udp' ? 17 : transport === 'icmpv6' ? 58 : Number(fragmented ? v['ipv6.fraghdr.nxt'] : v['ipv6.nxt']);
      if (fragmented) {
        laterFragment = Number(v['ipv6.fraghdr.offset']) > 0;
        firstFragment = !laterFragment && v['ipv6.fraghdr.more'] === '1';
        fragId = `${protocol}|${src}|${dst}|${parseInt(v['ipv6.fraghdr.ident'], 16)}`;
      }
    }
    let srcPort = 0;
    let dstPort = 0;
    if (laterFragment) {
      [srcPort, dstPort] = firstFragmentPorts.get(fragId!) ?? [0, 0];
    } else if (protocol === 6) {
      [srcPort, dstPort] = [Number(v['tcp.srcport']), Number(v['tcp.dstport'])];
    } else if (protocol === 17) {
      [srcPort, dstPort] = [Number(v['udp.srcport']), Number(v['udp.dstport'])];
    } else if (protocol === 1) {
      [srcPort, dstPort] = [Number(v['icmp.type']), Number(v['icmp.code'])];
    } else if (protocol === 58) {
      [srcPort, dstPort] = [Number(v['icmpv6.type']), Number(v['icmpv6.code'])];
    }
    if (firstFragment) firstFragmentPorts.set(fragId!, [srcPort, dstPort]);
    const [seconds, fraction = '0'] = v['frame.time_epoch'].split('.');
    const tsUs = Number(seconds) * 1e6 + Number(fraction.padEnd(6, '0').slice(0, 6));
    const key = flowKey(protocol, src, srcPort, dst, dstPort);
    const flow = flows.get(key);
    const flags = protocol === 6 && !laterFragment ? parseInt(v['tcp.flags'] || '0', 16) & 0xff : 0;
    if (flow) {
      flow.packets++;
      flow.bytes += bytes;
      flow.tcpFlags |= flags;
      flow.firstUs = Math.min(flow.firstUs, tsUs);
      flow.lastUs = Math.max(flow.lastUs, tsUs);
    } else {
      flows.set(key, { packets: 1, bytes, tcpFlags: flags, firstUs: tsUs, lastUs: tsUs });
    }
  }
  return flows;
}
