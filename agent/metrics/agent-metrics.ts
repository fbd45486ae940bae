/**
 * Everything that moves gets a counter. One plain object of numbers, rendered in the Prometheus
 * text format; components increment fields directly (no registry, no labels beyond `reason`).
 */
export class AgentMetrics {
  packetsSeen = 0;
  /** Packets that did not yield a flow, by reason. */
  packetsSkipped: Record<'non_ip' | 'unknown_link_type' | 'malformed', number> = { non_ip: 0, unknown_link_type: 0, malformed: 0 };
  ipFragments = 0;
  ipFragmentsUnmatched = 0;
  transportTruncated = 0;
  flowsWritten = 0;
  kernelDrops = 0;
  interfaceDrops = 0;
  captureRestarts = 0;
  captureGapSeconds = 0;
  spoolBytes = 0;
  spoolSegments = 0;
  segmentsSealed = 0;
  uploadsOk = 0;
  uploadsFailed = 0;
  uploadedBytes = 0;
  /** Flow records lost, by reason (spool full: oldest segment dropped; a failed disk write; a damaged closed segment, quarantined). */
  recordsLost: Record<'spool_full' | 'spool_write_failed' | 'spool_corrupt', number> = { spool_full: 0, spool_write_failed: 0, spool_corrupt: 0 };
  segmentsDropped = 0;

  render(): string {
    const lines: string[] = [];
    const one = (name: string, type: 'counter' | 'gauge', help: string, value: number | Record<string, number>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      if (typeof value === 'number') lines.push(`${name} ${value}`);
      else for (const [reason, v] of Object.entries(value)) lines.push(`${name}{reason="${reason}"} ${v}`);
    };
    one('netflow_agent_packets_seen_total', 'counter', 'Packets read from the capture.', this.packetsSeen);
    one('netflow_agent_packets_skipped_total', 'counter', 'Packets that yielded no flow, by reason.', this.packetsSkipped);
    one('netflow_agent_ip_fragments_total', 'counter', 'IP fragments seen (counted in their flow, never reassembled).', this.ipFragments);
    one('netflow_agent_ip_fragments_unmatched_total', 'counter', 'Later fragments without a first fragment, counted under ports 0.', this.ipFragmentsUnmatched);
    one('netflow_agent_transport_truncated_total', 'counter', 'Packets whose transport header was cut by the snap length, counted under ports 0.', this.transportTruncated);
    one('netflow_agent_flows_written_total', 'counter', 'Flow records written to the spool (fsynced).', this.flowsWritten);
    one('netflow_agent_kernel_drops_total', 'counter', 'Packets dropped by the kernel, as tcpdump reports them.', this.kernelDrops);
    one('netflow_agent_interface_drops_total', 'counter', 'Packets dropped by the interface, as tcpdump reports them.', this.interfaceDrops);
    one('netflow_agent_capture_restarts_total', 'counter', 'Times tcpdump exited unexpectedly and was restarted.', this.captureRestarts);
    one('netflow_agent_capture_gap_seconds_total', 'counter', 'Seconds without a running capture after tcpdump exited.', round(this.captureGapSeconds));
    one('netflow_agent_spool_bytes', 'gauge', 'Bytes in the spool (open and closed segments).', this.spoolBytes);
    one('netflow_agent_spool_segments', 'gauge', 'Closed segments waiting for upload.', this.spoolSegments);
    one('netflow_agent_segments_sealed_total', 'counter', 'Segments closed and ready for upload.', this.segmentsSealed);
    one('netflow_agent_uploads_ok_total', 'counter', 'Segments acknowledged by the object store.', this.uploadsOk);
    one('netflow_agent_uploads_failed_total', 'counter', 'Failed upload attempts (each is retried).', this.uploadsFailed);
    one('netflow_agent_uploaded_bytes_total', 'counter', 'Bytes acknowledged by the object store.', this.uploadedBytes);
    one('netflow_agent_records_lost_total', 'counter', 'Flow records lost, by reason.', this.recordsLost);
    one('netflow_agent_segments_dropped_total', 'counter', 'Closed segments deleted unsent: the spool was full, or the segment was damaged (quarantined).', this.segmentsDropped);
    return `${lines.join('\n')}\n`;
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
