import type { AgentRecord } from '../../schemas/agent-record.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { PacketHandler } from '../pcap/capture-stream-parser.ts';
import { decodePacket, DecodeStatus, newDecodedPacket } from '../pcap/packet-decoder.ts';
import { FlowAggregator } from './flow-aggregator.ts';
import { toAgentRecord } from './flow-record.ts';
import type { LocalNetworks } from './local-networks.ts';

export interface FlowPipelineOptions {
  vmId: string;
  intervalS: number;
  local: LocalNetworks;
  metrics: AgentMetrics;
  interfaceId?: string | null;
}

/** Frames in, flow records out: decode, count per reason, aggregate. Pure apart from the counters. */
export class FlowPipeline {
  readonly aggregator: FlowAggregator;
  private readonly packet = newDecodedPacket();
  private readonly intervalUs: number;

  constructor(private readonly options: FlowPipelineOptions) {
    this.intervalUs = options.intervalS * 1_000_000;
    this.aggregator = new FlowAggregator(this.intervalUs, options.local);
  }

  readonly handle: PacketHandler = (buf, offset, capturedLength, originalLength, linkType, timestampUs) => {
    const metrics = this.options.metrics;
    metrics.packetsSeen++;
    const status = decodePacket(buf, offset, capturedLength, linkType, this.packet, originalLength);
    if (status === DecodeStatus.ok) this.aggregator.add(this.packet, timestampUs);
    else if (status === DecodeStatus.nonIp) metrics.packetsSkipped.non_ip++;
    else if (status === DecodeStatus.malformed) metrics.packetsSkipped.malformed++;
    else metrics.packetsSkipped.unknown_link_type++;
  };

  /** Records of every interval that ended at or before `cutoffUs`. */
  takeEndedBy(cutoffUs: number): AgentRecord[] {
    return this.toRecords(this.aggregator.takeEndedBy(cutoffUs));
  }

  takeAll(): AgentRecord[] {
    return this.toRecords(this.aggregator.takeAll());
  }

  private toRecords(entries: ReturnType<FlowAggregator['takeAll']>): AgentRecord[] {
    const { vmId, interfaceId = null, metrics } = this.options;
    const c = this.aggregator.counters;
    metrics.ipFragments = c.fragments;
    metrics.ipFragmentsUnmatched = c.fragmentsUnmatched;
    metrics.transportTruncated = c.transportTruncated;
    return entries.map((entry) => toAgentRecord(entry, vmId, this.intervalUs, interfaceId));
  }
}
