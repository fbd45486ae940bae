import { z } from 'zod';

/**
 * One line of an agent spool segment (`raw/agent/…/*.ndjson.gz`): one flow aggregated over one
 * capture interval, seen by one VM. Field names are the `flows` column names wherever they share
 * a meaning, so the normalize model only casts.
 *
 * Object key: `raw/agent/dt=YYYY-MM-DD/hour=HH/vm=<vm_id>/<vm_id>-<seq, 12 digits>.ndjson.gz`,
 * where dt/hour is the UTC hour the segment was closed (its delivery time, not its event time)
 * and seq is the segment's sequence number on that VM, so a re-sent segment overwrites itself.
 */
export const AGENT_RECORD_SCHEMA_VERSION = 1;

const ipAddress = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(0).max(65535);
const counter = z.number().int().min(0);

export const agentRecordSchema = z.strictObject({
  /** Record format version; always AGENT_RECORD_SCHEMA_VERSION for this schema. */
  v: z.literal(AGENT_RECORD_SCHEMA_VERSION),
  /** The VM id from the agent's configuration (for example an EC2 instance id or Azure VM id). */
  vm_id: z.string().min(1).max(256),
  /** Capture interface name or cloud interface id, when known. */
  interface_id: z.string().max(256).nullable().optional(),
  /** Start of the aggregation interval (UTC, ISO 8601). */
  interval_start_at: z.iso.datetime({ offset: false }),
  /** Length of the aggregation interval in seconds. */
  interval_s: z.number().int().positive(),
  /** First and last packet of this flow within the interval (UTC, ISO 8601, millisecond precision or finer). */
  start_at: z.iso.datetime({ offset: false }),
  end_at: z.iso.datetime({ offset: false }),
  src_ip: ipAddress,
  dst_ip: ipAddress,
  /** For ICMP and ICMPv6 the ports carry type (src_port) and code (dst_port), as Community ID does. */
  src_port: port,
  dst_port: port,
  /** IANA protocol number. */
  protocol: z.number().int().min(0).max(255),
  /** From the VM's point of view; `transit` when neither end is one of the VM's addresses. */
  direction: z.enum(['ingress', 'egress', 'transit']),
  packets: counter,
  /** Sum of IP total lengths (L3 bytes including headers), as AWS counts. */
  bytes: counter,
  /** OR of the TCP flags seen (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128); 0 for other protocols. */
  tcp_flags: z.number().int().min(0).max(255),
});

export type AgentRecord = z.infer<typeof agentRecordSchema>;

/** Builds the deterministic object key of one spool segment. */
export function agentSegmentKey(vmId: string, sequence: number, closedAt: Date): string {
  const iso = closedAt.toISOString();
  const safeVm = vmId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `raw/agent/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/vm=${safeVm}/${safeVm}-${String(sequence).padStart(12, '0')}.ndjson.gz`;
}
