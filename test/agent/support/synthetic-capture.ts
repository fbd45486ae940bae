import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { LINKTYPE_ETHERNET } from '../../../agent/pcap/link-types.ts';
import { pcapHeader, pcapRecord } from './capture-writer.ts';
import { ethernet, ipPacket } from './packet-builder.ts';
import { flowKey } from './tshark-flows.ts';

export interface SyntheticCaptureOptions {
  flows: number;
  packets: number;
  startUs: number;
  /** Packet time covered by the whole file. */
  durationUs: number;
  /** Distinct payload sizes per flow (each a separate frame template). */
  sizeVariants?: number;
  /** Cut each frame to this many bytes, as tcpdump -s does (the original length is kept). */
  snaplen?: number;
}

export interface SyntheticTruth {
  packets: number;
  flows: Map<string, { packets: number; bytes: number }>;
}

/**
 * Writes a time-ordered Ethernet pcap of generated traffic (IPv4 and IPv6, TCP and UDP, in
 * rotation) and returns the exact per-flow truth, for the crash test and the benchmark.
 */
export async function writeSyntheticCapture(file: string, options: SyntheticCaptureOptions): Promise<SyntheticTruth> {
  const variants = options.sizeVariants ?? 4;
  const templates: { frame: Buffer; key: string; ipBytes: number }[][] = [];
  for (let f = 0; f < options.flows; f++) {
    const v6 = f % 3 === 2;
    const tcp = f % 2 === 0;
    const src = v6 ? `fd00::${(f % 65000).toString(16)}` : `10.${(f >> 16) & 255}.${(f >> 8) & 255}.${f & 255}`;
    const dst = v6 ? '2001:db8::53' : '198.51.100.53';
    const srcPort = 10_000 + (f % 50_000);
    const dstPort = tcp ? 443 : 53;
    const row: { frame: Buffer; key: string; ipBytes: number }[] = [];
    for (let v = 0; v < variants; v++) {
      const ip = ipPacket(src, dst, { protocol: tcp ? 'tcp' : 'udp', srcPort, dstPort, tcpFlags: 0x18, payload: 20 + v * 300 }, { ipId: f & 0xffff });
      row.push({ frame: ethernet(ip), key: flowKey(tcp ? 6 : 17, src, srcPort, dst, dstPort), ipBytes: ip.length });
    }
    templates.push(row);
  }
  const truth: SyntheticTruth = { packets: 0, flows: new Map() };
  const out = createWriteStream(file);
  out.write(pcapHeader(LINKTYPE_ETHERNET));
  const batch: Buffer[] = [];
  for (let i = 0; i < options.packets; i++) {
    const f = i % options.flows;
    const t = templates[f]![Math.floor(i / options.flows) % variants]!;
    const tsUs = options.startUs + Math.floor((i * options.durationUs) / options.packets);
    const data = options.snaplen !== undefined && t.frame.length > options.snaplen ? t.frame.subarray(0, options.snaplen) : t.frame;
    batch.push(pcapRecord({ tsUs, data, origLen: t.frame.length }, false));
    const flow = truth.flows.get(t.key) ?? { packets: 0, bytes: 0 };
    flow.packets++;
    flow.bytes += t.ipBytes;
    truth.flows.set(t.key, flow);
    truth.packets++;
    if (batch.length >= 4096) {
      if (!out.write(Buffer.concat(batch.splice(0)))) await once(out, 'drain');
    }
  }
  out.write(Buffer.concat(batch));
  out.end();
  await once(out, 'finish');
  return truth;
}
