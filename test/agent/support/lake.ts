import { gunzipSync } from 'node:zlib';
import type { ObjectStore } from '../../../lib/storage/object-store.ts';
import { agentRecordSchema, type AgentRecord } from '../../../schemas/agent-record.ts';
import { flowKey, type IndependentFlow } from './tshark-flows.ts';

/** Every agent record in the store, each validated against the record schema, with its object key. */
export async function readAgentObjects(store: ObjectStore): Promise<{ key: string; records: AgentRecord[] }[]> {
  const out: { key: string; records: AgentRecord[] }[] = [];
  for await (const info of store.list('raw/agent/')) {
    const body = await store.getBytes(info.key);
    if (!body) throw new Error(`listed object vanished: ${info.key}`);
    const text = gunzipSync(body).toString('utf8');
    const records = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => agentRecordSchema.parse(JSON.parse(line)));
    out.push({ key: info.key, records });
  }
  return out;
}

/** Sums records over intervals into one count per flow, the shape the independent reading has. */
export function sumByFlow(records: AgentRecord[]): Map<string, IndependentFlow> {
  const flows = new Map<string, IndependentFlow>();
  for (const r of records) {
    const key = flowKey(r.protocol, r.src_ip, r.src_port, r.dst_ip, r.dst_port);
    const first = isoToUs(r.start_at);
    const last = isoToUs(r.end_at);
    const flow = flows.get(key);
    if (flow) {
      flow.packets += r.packets;
      flow.bytes += r.bytes;
      flow.tcpFlags |= r.tcp_flags;
      flow.firstUs = Math.min(flow.firstUs, first);
      flow.lastUs = Math.max(flow.lastUs, last);
    } else {
      flows.set(key, { packets: r.packets, bytes: r.bytes, tcpFlags: r.tcp_flags, firstUs: first, lastUs: last });
    }
  }
  return flows;
}

export function isoToUs(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!match) throw new Error(`not a UTC timestamp: ${iso}`);
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** Sorted entries, for readable equality failures. */
export function sorted<V>(map: Map<string, V>): [string, V][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
