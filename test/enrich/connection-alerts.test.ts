import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceOf, runEnrich, type FlowInput } from './enrich-harness.ts';

/**
 * What an alert counts (sql/marts/rule_alerts.sql, docs/sources.md "Counted once"): connections,
 * not records. Given the records of a connection as its observers cut them (an Azure session's
 * B, C and E tuples, an agent's minutes, two agents' records of each minute), expecting the alert's
 * connections, bytes (the sum of the counting records' deltas), records and observers. Each case
 * has a source address of its own, so each is one alert of the one deny rule.
 */
const RULES = [{ id: 'no-sql', kind: 'deny', severity: 'high', description: 'nothing reaches 1433', from: { any: true }, to: { any: true }, ports: [1433] }];

const T = (minute: number, second = 0) => `2024-05-01T13:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}`;

const NSG_POINT = 'azure_nsg:NSG-SQL/000D3A2B3001';
const nsgKey = (name: string) => `resourceId=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-SQL/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A2B3001/${name}`;

/** One Azure NSG version 2 session as the log writes it: a begin tuple without counters, then the end tuple with both directions' deltas. */
const nsgSession = (src_ip: string, src_port: number, minute: number): FlowInput[] => [
  {
    flow_id: nsgKey(`${src_ip}/${src_port}/B`),
    source_type: 'azure_nsg',
    mac_address: '000D3A2B3001',
    direction: 'ingress',
    start_at: T(minute, 10),
    src_ip,
    src_port,
    dst_ip: '10.1.3.4',
    dst_port: 1433,
    packets: null,
    bytes: null,
  },
  {
    flow_id: nsgKey(`${src_ip}/${src_port}/E`),
    source_type: 'azure_nsg',
    mac_address: '000D3A2B3001',
    direction: 'ingress',
    start_at: T(minute, 23),
    src_ip,
    src_port,
    dst_ip: '10.1.3.4',
    dst_port: 1433,
    packets: 8,
    bytes: 1200,
    reverse_packets: 6,
    reverse_bytes: 3600,
  },
];

const vnetTuple = (src_ip: string, minute: number, bytes: number): FlowInput => ({
  flow_id: `vnet/${src_ip}/${minute}`,
  source_type: 'azure_vnet',
  mac_address: 'MAC-SQL',
  direction: 'ingress',
  start_at: T(minute),
  src_ip,
  src_port: 35370,
  dst_ip: '10.1.3.5',
  dst_port: 1433,
  packets: bytes === 0 ? 0 : 10,
  bytes,
  reverse_bytes: bytes,
});

const agentMinute = (src_ip: string, vm: string, direction: 'ingress' | 'egress', minute: number, bytes: number, src_port = 40000): FlowInput => ({
  flow_id: `agent/${src_ip}/${vm}/${src_port}/${minute}`,
  source_type: 'agent',
  observer_vm_id: vm,
  direction,
  start_at: T(minute),
  end_at: T(minute, 59),
  src_ip,
  src_port,
  dst_ip: '10.0.3.10',
  dst_port: 1433,
  bytes,
});

interface Expected {
  connections: number;
  bytes: number;
  records: number;
  observedBy: string[];
}

const cases: { name: string; src_ip: string; flows: FlowInput[]; expect: Expected }[] = [
  {
    name: 'Azure NSG version 2: five sessions of a begin (no counters) and an end tuple each are five connections, their bytes the end tuples',
    src_ip: '10.1.2.5',
    flows: [20, 21, 22, 23, 24].flatMap((minute, i) => nsgSession('10.1.2.5', 64000 + i, minute)),
    expect: { connections: 5, bytes: 6000, records: 10, observedBy: [NSG_POINT] },
  },
  {
    name: "Azure VNet: one session's begin, two continuing and the end tuple are one connection, its bytes the sum of the deltas",
    src_ip: '10.1.2.6',
    flows: [vnetTuple('10.1.2.6', 1, 0), vnetTuple('10.1.2.6', 6, 588096), vnetTuple('10.1.2.6', 11, 29952), vnetTuple('10.1.2.6', 12, 52)],
    expect: { connections: 1, bytes: 588096 + 29952 + 52, records: 4, observedBy: ['azure_vnet:MAC-SQL'] },
  },
  {
    name: "an agent's records of three minutes of one connection are one connection",
    src_ip: '10.0.2.21',
    flows: [agentMinute('10.0.2.21', 'sql-1', 'ingress', 30, 100), agentMinute('10.0.2.21', 'sql-1', 'ingress', 31, 200), agentMinute('10.0.2.21', 'sql-1', 'ingress', 32, 300)],
    expect: { connections: 1, bytes: 600, records: 3, observedBy: ['agent:sql-1'] },
  },
  {
    name: "agents on both ends over two minutes: one connection, the destination's bytes of each minute (the source's retransmission is not added)",
    src_ip: '10.0.2.22',
    flows: [40, 41].flatMap((minute) => [agentMinute('10.0.2.22', 'app-2', 'egress', minute, 510), agentMinute('10.0.2.22', 'sql-1', 'ingress', minute, 500)]),
    expect: { connections: 1, bytes: 1000, records: 4, observedBy: ['agent:app-2', 'agent:sql-1'] },
  },
  {
    name: 'two source ports are two connections',
    src_ip: '10.0.2.23',
    flows: [agentMinute('10.0.2.23', 'sql-1', 'ingress', 45, 100, 50001), agentMinute('10.0.2.23', 'sql-1', 'ingress', 45, 100, 50002)],
    expect: { connections: 2, bytes: 200, records: 2, observedBy: ['agent:sql-1'] },
  },
  {
    name: "the destination's NSG session (begin and end) and the source's agent: one connection, the NSG's bytes, both observers",
    src_ip: '10.1.2.7',
    flows: [...nsgSession('10.1.2.7', 61000, 50), { ...agentMinute('10.1.2.7', 'az-app-9', 'egress', 50, 1300, 61000), dst_ip: '10.1.3.4' }],
    expect: { connections: 1, bytes: 1200, records: 3, observedBy: ['agent:az-app-9', NSG_POINT] },
  },
];

describe('an alert counts connections, not observer records', () => {
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  let alerts: Map<string, Expected>;

  beforeAll(async () => {
    enriched = await runEnrich(
      cases.flatMap((c) => c.flows),
      referenceOf({ rules: RULES }),
      '2024-05-01T13:00:00',
      ['violations', 'rule_alerts'],
    );
    const rows = await enriched.session.all<{ src_ip: string; flow_count: bigint; bytes: bigint; observation_count: bigint; observed_by: string[] }>(
      `SELECT src_ip, flow_count, bytes::BIGINT AS bytes, observation_count, observed_by FROM rule_alerts`,
    );
    alerts = new Map(rows.map((row) => [row.src_ip, { connections: Number(row.flow_count), bytes: Number(row.bytes), records: Number(row.observation_count), observedBy: [...row.observed_by] }]));
  });
  afterAll(() => enriched.close());

  it.each(cases)('$name', ({ src_ip, expect: expected }) => {
    expect(alerts.get(src_ip)).toEqual(expected);
  });
});
