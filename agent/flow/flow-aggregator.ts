import type { DecodedPacket } from '../pcap/packet-decoder.ts';
import { ipv4Text, ipv6Text } from './ip-text.ts';
import type { LocalNetworks } from './local-networks.ts';

export type Direction = 'ingress' | 'egress' | 'transit';

/** One flow within one interval, while it is being counted. */
export interface FlowEntry {
  intervalIndex: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  direction: Direction;
  packets: number;
  bytes: number;
  tcpFlags: number;
  firstUs: number;
  lastUs: number;
}

export interface AggregatorCounters {
  packets: number;
  flowsOpened: number;
  fragments: number;
  /** Later fragments whose first fragment was not seen: counted under ports 0. */
  fragmentsUnmatched: number;
  /** Packets whose transport header was beyond the snap length: counted under ports 0. */
  transportTruncated: number;
}

const MAX_FRAGMENT_TRACKING = 65_536;

/**
 * Counts packets into one entry per (interval, 5-tuple, direction). Direction is a function of
 * the addresses, so it is decided once when a flow is first seen. Memory is bounded by the flows
 * of the open intervals; closed intervals are taken out by the caller.
 */
export class FlowAggregator {
  readonly counters: AggregatorCounters = { packets: 0, flowsOpened: 0, fragments: 0, fragmentsUnmatched: 0, transportTruncated: 0 };
  private readonly intervals = new Map<number, Map<string, FlowEntry>>();
  private currentIndex = Number.NaN;
  private current: Map<string, FlowEntry> | undefined;
  private readonly fragmentPorts = new Map<string, number>();
  private readonly words: number[] = new Array<number>(19).fill(0);

  constructor(
    readonly intervalUs: number,
    private local: LocalNetworks,
  ) {
    if (!(intervalUs > 0)) throw new Error('interval must be positive');
  }

  /** New flows take their direction from these networks (the VM's addresses can change). */
  setLocalNetworks(local: LocalNetworks): void {
    this.local = local;
  }

  /** Index of the interval a timestamp falls in. */
  intervalOf(tsUs: number): number {
    return Math.floor(tsUs / this.intervalUs);
  }

  add(p: DecodedPacket, tsUs: number): void {
    this.counters.packets++;
    let srcPort = p.srcPort;
    let dstPort = p.dstPort;
    if (p.fragment !== 0) {
      this.counters.fragments++;
      const fragmentKey = this.fragmentKey(p);
      if (p.fragment === 1) {
        if (this.fragmentPorts.size >= MAX_FRAGMENT_TRACKING) this.fragmentPorts.clear();
        this.fragmentPorts.set(fragmentKey, srcPort * 65536 + dstPort);
      } else {
        // A later fragment belongs to the flow of its first fragment; it has no ports of its own.
        const ports = this.fragmentPorts.get(fragmentKey);
        if (ports === undefined) this.counters.fragmentsUnmatched++;
        else {
          srcPort = Math.floor(ports / 65536);
          dstPort = ports % 65536;
        }
      }
    } else if (p.l4Missing) {
      this.counters.transportTruncated++;
    }
    const index = Math.floor(tsUs / this.intervalUs);
    let flows = this.current;
    if (index !== this.currentIndex || flows === undefined) {
      flows = this.intervals.get(index);
      if (!flows) {
        flows = new Map();
        this.intervals.set(index, flows);
      }
      this.current = flows;
      this.currentIndex = index;
    }
    const key = this.flowKey(p, srcPort, dstPort);
    const entry = flows.get(key);
    if (entry) {
      entry.packets++;
      entry.bytes += p.ipBytes;
      entry.tcpFlags |= p.tcpFlags;
      if (tsUs < entry.firstUs) entry.firstUs = tsUs;
      if (tsUs > entry.lastUs) entry.lastUs = tsUs;
      return;
    }
    const length = p.version === 4 ? 4 : 16;
    this.counters.flowsOpened++;
    flows.set(key, {
      intervalIndex: index,
      srcIp: length === 4 ? ipv4Text(p.buf, p.srcOff) : ipv6Text(p.buf, p.srcOff),
      dstIp: length === 4 ? ipv4Text(p.buf, p.dstOff) : ipv6Text(p.buf, p.dstOff),
      srcPort,
      dstPort,
      protocol: p.protocol,
      direction: this.local.direction(p.buf, p.srcOff, p.dstOff, length),
      packets: 1,
      bytes: p.ipBytes,
      tcpFlags: p.tcpFlags,
      firstUs: tsUs,
      lastUs: tsUs,
    });
  }

  /** Number of flows currently held in open intervals. */
  get openFlows(): number {
    let n = 0;
    for (const flows of this.intervals.values()) n += flows.size;
    return n;
  }

  get openIntervalCount(): number {
    return this.intervals.size;
  }

  /** Removes and returns the flows of every interval that ends at or before `cutoffUs`. */
  takeEndedBy(cutoffUs: number): FlowEntry[] {
    return this.take((index) => (index + 1) * this.intervalUs <= cutoffUs);
  }

  /** Removes and returns every flow of every open interval. */
  takeAll(): FlowEntry[] {
    this.fragmentPorts.clear();
    return this.take(() => true);
  }

  private take(predicate: (index: number) => boolean): FlowEntry[] {
    const out: FlowEntry[] = [];
    const indexes = [...this.intervals.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      if (!predicate(index)) continue;
      for (const entry of this.intervals.get(index)!.values()) out.push(entry);
      this.intervals.delete(index);
      if (index === this.currentIndex) {
        this.current = undefined;
        this.currentIndex = Number.NaN;
      }
    }
    return out;
  }

  private flowKey(p: DecodedPacket, srcPort: number, dstPort: number): string {
    const b = p.buf;
    const s = p.srcOff;
    const d = p.dstOff;
    if (p.version === 4) {
      return String.fromCharCode(p.protocol, (b[s]! << 8) | b[s + 1]!, (b[s + 2]! << 8) | b[s + 3]!, (b[d]! << 8) | b[d + 1]!, (b[d + 2]! << 8) | b[d + 3]!, srcPort, dstPort);
    }
    const w = this.words;
    w[0] = p.protocol | 0x100;
    for (let i = 0; i < 8; i++) {
      w[1 + i] = (b[s + 2 * i]! << 8) | b[s + 2 * i + 1]!;
      w[9 + i] = (b[d + 2 * i]! << 8) | b[d + 2 * i + 1]!;
    }
    w[17] = srcPort;
    w[18] = dstPort;
    return String.fromCharCode.apply(null, w);
  }

  private fragmentKey(p: DecodedPacket): string {
    const length = p.version === 4 ? 4 : 16;
    return `${p.protocol}|${p.fragmentId}|${p.buf.toString('latin1', p.srcOff, p.srcOff + length)}|${p.buf.toString('latin1', p.dstOff, p.dstOff + length)}`;
  }
}
