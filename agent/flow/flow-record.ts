import { AGENT_RECORD_SCHEMA_VERSION, type AgentRecord } from '../../schemas/agent-record.ts';
import type { FlowEntry } from './flow-aggregator.ts';

/** UTC ISO 8601 with microseconds (`2026-01-02T03:04:05.123456Z`) from microseconds since the epoch. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = us - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micro).padStart(3, '0')}Z`;
}

/** Turns a counted flow into a spool record (`flows` column names). */
export function toAgentRecord(entry: FlowEntry, vmId: string, intervalUs: number, interfaceId: string | null): AgentRecord {
  return {
    v: AGENT_RECORD_SCHEMA_VERSION,
    vm_id: vmId,
    interface_id: interfaceId,
    interval_start_at: new Date((entry.intervalIndex * intervalUs) / 1000).toISOString(),
    interval_s: Math.max(1, Math.round(intervalUs / 1_000_000)),
    start_at: isoMicros(entry.firstUs),
    end_at: isoMicros(entry.lastUs),
    src_ip: entry.srcIp,
    dst_ip: entry.dstIp,
    src_port: entry.srcPort,
    dst_port: entry.dstPort,
    protocol: entry.protocol,
    direction: entry.direction,
    packets: entry.packets,
    bytes: entry.bytes,
    tcp_flags: entry.tcpFlags,
  };
}
