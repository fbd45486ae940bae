import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../../schemas/reference/inventory.ts';
import { referenceOf, runEnrich, type FlowInput } from './enrich-harness.ts';

/**
 * The counting rule (enrich/connection_observations.sql), given records and expecting, per record,
 * whether it counts in totals, which record counts for it and which observers saw the connection.
 * Each case is its own connection (its own addresses), so the cases run in one session.
 */
const vm = (vm_id: string, ip: string, mac?: string): InventorySnapshot['vms'][number] => ({
  vm_id,
  vm_name: vm_id,
  account_id: 'acct-1',
  segment: vm_id.split('-')[0]!,
  tags: [],
  interfaces: [{ interface_id: `eni-${vm_id}`, ...(mac ? { mac } : {}), private_ips: [ip] }],
});

const NSG_KEY = (nsg: string, name: string) =>
  `resourceId=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${nsg}/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A000002/${name}`;

const T = (minute: number, second = 0) => `2024-05-01T13:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}`;

/** app-1 (10.0.2.10) to sql-1 (10.0.3.10:1433) from a client port, and sql-1's answer. */
const sqlRequest = (clientPort: number) => ({ src_ip: '10.0.2.10', src_port: clientPort, dst_ip: '10.0.3.10', dst_port: 1433 });
const sqlAnswer = (clientPort: number) => ({ src_ip: '10.0.3.10', src_port: 1433, dst_ip: '10.0.2.10', dst_port: clientPort });

/** An Azure VNet tuple of app-1's request to sql-1 (900 bytes) carrying sql-1's answer (5000 bytes). */
const vnetTuple = (flow_id: string, mac: string, direction: 'ingress' | 'egress', start_at: string, clientPort: number): FlowInput => ({
  flow_id,
  source_type: 'azure_vnet',
  mac_address: mac,
  direction,
  start_at,
  ...sqlRequest(clientPort),
  bytes: 900,
  reverse_packets: 8,
  reverse_bytes: 5000,
});

interface Expected {
  counts: boolean;
  countedAs: string | null;
  observedBy: string[];
}

/** An agent's records of both directions of that connection, 40 seconds from a minute: `<prefix>/agent-request` and `<prefix>/agent-answer`. */
const agentOfBothDirections = (prefix: string, vm: string, requestDirection: 'ingress' | 'egress', minute: number, clientPort: number): FlowInput[] => [
  { flow_id: `${prefix}/agent-request`, source_type: 'agent', observer_vm_id: vm, direction: requestDirection, start_at: T(minute), end_at: T(minute, 40), ...sqlRequest(clientPort), bytes: 900 },
  {
    flow_id: `${prefix}/agent-answer`,
    source_type: 'agent',
    observer_vm_id: vm,
    direction: requestDirection === 'ingress' ? 'egress' : 'ingress',
    start_at: T(minute),
    end_at: T(minute, 40),
    ...sqlAnswer(clientPort),
    bytes: 5000,
  },
];

/** The expectation when `<prefix>/vnet` counts both directions and the agent's two records neither. */
const answeredByTuple = (prefix: string, observedBy: string[]): Record<string, Expected> =>
  Object.fromEntries(['vnet', 'agent-request', 'agent-answer'].map((name) => [`${prefix}/${name}`, { counts: name === 'vnet', countedAs: `${prefix}/vnet`, observedBy }]));

const cases: { name: string; flows: FlowInput[]; expect: Record<string, Expected> }[] = [
  {
    name: "two agents: the destination VM's agent counts the request, the source VM's its answer",
    flows: [
      {
        flow_id: 'agents/app-egress',
        source_type: 'agent',
        observer_vm_id: 'app-1',
        direction: 'egress',
        start_at: T(1),
        end_at: T(1, 30),
        src_ip: '10.0.2.10',
        src_port: 40001,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        bytes: 900,
      },
      {
        flow_id: 'agents/sql-ingress',
        source_type: 'agent',
        observer_vm_id: 'sql-1',
        direction: 'ingress',
        start_at: T(1),
        end_at: T(1, 30),
        src_ip: '10.0.2.10',
        src_port: 40001,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        bytes: 900,
      },
      {
        flow_id: 'agents/sql-egress',
        source_type: 'agent',
        observer_vm_id: 'sql-1',
        direction: 'egress',
        start_at: T(1),
        end_at: T(1, 30),
        src_ip: '10.0.3.10',
        src_port: 1433,
        dst_ip: '10.0.2.10',
        dst_port: 40001,
        bytes: 5000,
      },
      {
        flow_id: 'agents/app-ingress',
        source_type: 'agent',
        observer_vm_id: 'app-1',
        direction: 'ingress',
        start_at: T(1),
        end_at: T(1, 30),
        src_ip: '10.0.3.10',
        src_port: 1433,
        dst_ip: '10.0.2.10',
        dst_port: 40001,
        bytes: 5000,
      },
    ],
    expect: {
      'agents/app-egress': { counts: false, countedAs: 'agents/sql-ingress', observedBy: ['agent:app-1', 'agent:sql-1'] },
      'agents/sql-ingress': { counts: true, countedAs: 'agents/sql-ingress', observedBy: ['agent:app-1', 'agent:sql-1'] },
      'agents/sql-egress': { counts: false, countedAs: 'agents/app-ingress', observedBy: ['agent:app-1', 'agent:sql-1'] },
      'agents/app-ingress': { counts: true, countedAs: 'agents/app-ingress', observedBy: ['agent:app-1', 'agent:sql-1'] },
    },
  },
  {
    name: 'two ENIs (AWS version 2, no direction): the side comes from which end the ENI holds in the inventory',
    flows: [
      { flow_id: 'enis/src', source_type: 'aws_vpc', interface_id: 'eni-web-1', start_at: T(2), end_at: T(3), src_ip: '10.0.1.10', src_port: 40002, dst_ip: '10.0.2.11', dst_port: 8080, bytes: 700 },
      { flow_id: 'enis/dst', source_type: 'aws_vpc', interface_id: 'eni-app-2', start_at: T(2), end_at: T(3), src_ip: '10.0.1.10', src_port: 40002, dst_ip: '10.0.2.11', dst_port: 8080, bytes: 700 },
    ],
    expect: {
      'enis/src': { counts: false, countedAs: 'enis/dst', observedBy: ['aws_vpc:eni-app-2', 'aws_vpc:eni-web-1'] },
      'enis/dst': { counts: true, countedAs: 'enis/dst', observedBy: ['aws_vpc:eni-app-2', 'aws_vpc:eni-web-1'] },
    },
  },
  {
    name: "two NSGs (the subnet's and the NIC's) log one tuple seconds apart: one counts, the smallest flow_id",
    flows: [
      {
        flow_id: NSG_KEY('NSG-SUBNET', 'a'),
        source_type: 'azure_nsg',
        mac_address: '000D3A000002',
        direction: 'ingress',
        start_at: T(4, 10),
        end_at: T(4, 10),
        src_ip: '10.1.0.4',
        src_port: 40003,
        dst_ip: '10.1.0.5',
        dst_port: 443,
        bytes: 300,
      },
      {
        flow_id: NSG_KEY('NSG-NIC', 'b'),
        source_type: 'azure_nsg',
        mac_address: '000D3A000002',
        direction: 'ingress',
        start_at: T(4, 40),
        end_at: T(4, 40),
        src_ip: '10.1.0.4',
        src_port: 40003,
        dst_ip: '10.1.0.5',
        dst_port: 443,
        bytes: 300,
      },
    ],
    // Filled in below: which of the two wins depends on their md5 flow ids only.
    expect: {},
  },
  {
    name: "an agent and the ENI flow log of one VM: the ENI's unsampled log counts",
    flows: [
      {
        flow_id: 'same-vm/agent',
        source_type: 'agent',
        observer_vm_id: 'sql-1',
        direction: 'ingress',
        start_at: T(5),
        end_at: T(5, 50),
        src_ip: '10.0.2.10',
        src_port: 40005,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        bytes: 1200,
      },
      {
        flow_id: 'same-vm/eni',
        source_type: 'aws_vpc',
        interface_id: 'eni-sql-1',
        direction: 'ingress',
        start_at: T(5),
        end_at: T(6),
        src_ip: '10.0.2.10',
        src_port: 40005,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        bytes: 1200,
      },
    ],
    expect: {
      'same-vm/agent': { counts: false, countedAs: 'same-vm/eni', observedBy: ['agent:sql-1', 'aws_vpc:eni-sql-1'] },
      'same-vm/eni': { counts: true, countedAs: 'same-vm/eni', observedBy: ['agent:sql-1', 'aws_vpc:eni-sql-1'] },
    },
  },
  {
    name: "one side missing: the source's observation counts when the destination reports nothing",
    flows: [
      {
        flow_id: 'one-side/app-egress',
        source_type: 'agent',
        observer_vm_id: 'app-1',
        direction: 'egress',
        start_at: T(7),
        end_at: T(7, 20),
        src_ip: '10.0.2.10',
        src_port: 40007,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        bytes: 400,
      },
    ],
    expect: { 'one-side/app-egress': { counts: true, countedAs: 'one-side/app-egress', observedBy: ['agent:app-1'] } },
  },
  {
    name: "counters that disagree (a retransmission the destination did not see twice): the winner's counters, nothing added",
    flows: [
      {
        flow_id: 'disagree/src',
        source_type: 'agent',
        observer_vm_id: 'app-1',
        direction: 'egress',
        start_at: T(8),
        end_at: T(8, 40),
        src_ip: '10.0.2.10',
        src_port: 40008,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        packets: 11,
        bytes: 1600,
      },
      {
        flow_id: 'disagree/dst',
        source_type: 'agent',
        observer_vm_id: 'sql-1',
        direction: 'ingress',
        start_at: T(8),
        end_at: T(8, 40),
        src_ip: '10.0.2.10',
        src_port: 40008,
        dst_ip: '10.0.3.10',
        dst_port: 1433,
        packets: 10,
        bytes: 1500,
      },
    ],
    expect: {
      'disagree/src': { counts: false, countedAs: 'disagree/dst', observedBy: ['agent:app-1', 'agent:sql-1'] },
      'disagree/dst': { counts: true, countedAs: 'disagree/dst', observedBy: ['agent:app-1', 'agent:sql-1'] },
    },
  },
  {
    name: "partly overlapping intervals: a 10-minute ENI record and the agent's minutes inside it merge; a later minute outside it does not",
    flows: [
      {
        flow_id: 'partly/eni-src',
        source_type: 'aws_vpc',
        interface_id: 'eni-web-1',
        direction: 'egress',
        start_at: T(10),
        end_at: T(19, 59),
        src_ip: '10.0.1.10',
        src_port: 40010,
        dst_ip: '10.0.2.11',
        dst_port: 8080,
        bytes: 10_000,
      },
      {
        flow_id: 'partly/agent-dst',
        source_type: 'agent',
        observer_vm_id: 'app-2',
        direction: 'ingress',
        start_at: T(18, 30),
        end_at: T(20, 30),
        src_ip: '10.0.1.10',
        src_port: 40010,
        dst_ip: '10.0.2.11',
        dst_port: 8080,
        bytes: 2_000,
      },
      {
        flow_id: 'partly/agent-dst-later',
        source_type: 'agent',
        observer_vm_id: 'app-2',
        direction: 'ingress',
        start_at: T(25),
        end_at: T(25, 30),
        src_ip: '10.0.1.10',
        src_port: 40010,
        dst_ip: '10.0.2.11',
        dst_port: 8080,
        bytes: 500,
      },
    ],
    expect: {
      'partly/eni-src': { counts: false, countedAs: 'partly/agent-dst', observedBy: ['agent:app-2', 'aws_vpc:eni-web-1'] },
      'partly/agent-dst': { counts: true, countedAs: 'partly/agent-dst', observedBy: ['agent:app-2', 'aws_vpc:eni-web-1'] },
      'partly/agent-dst-later': { counts: true, countedAs: 'partly/agent-dst-later', observedBy: ['agent:app-2'] },
    },
  },
  {
    name: 'IPv6: two spellings of one address are one endpoint',
    flows: [
      {
        flow_id: 'v6/src',
        source_type: 'agent',
        observer_vm_id: 'web-1',
        direction: 'egress',
        start_at: T(30),
        end_at: T(30, 10),
        src_ip: '2600:1f18:1234:5600:0:0:0:10',
        src_port: 40030,
        dst_ip: '2600:1f18:1234:5600::20',
        dst_port: 443,
        bytes: 640,
      },
      {
        flow_id: 'v6/dst',
        source_type: 'agent',
        observer_vm_id: 'app-6',
        direction: 'ingress',
        start_at: T(30),
        end_at: T(30, 10),
        src_ip: '2600:1F18:1234:5600::10',
        src_port: 40030,
        dst_ip: '2600:1f18:1234:5600::20',
        dst_port: 443,
        bytes: 640,
      },
    ],
    expect: {
      'v6/src': { counts: false, countedAs: 'v6/dst', observedBy: ['agent:app-6', 'agent:web-1'] },
      'v6/dst': { counts: true, countedAs: 'v6/dst', observedBy: ['agent:app-6', 'agent:web-1'] },
    },
  },
  {
    name: "GCP's SRC and DEST reports of one flow, and a gateway's: the destination's counts, as for any other observers",
    flows: [
      {
        flow_id: 'gcp/src',
        source_type: 'gcp_vpc',
        reporter: 'SRC',
        instance_id: 'vm-a',
        direction: 'egress',
        start_at: T(45),
        end_at: T(45, 20),
        src_ip: '10.128.0.4',
        src_port: 40045,
        dst_ip: '10.128.0.5',
        dst_port: 5432,
        bytes: 700,
      },
      {
        flow_id: 'gcp/dest',
        source_type: 'gcp_vpc',
        reporter: 'DEST',
        instance_id: 'vm-b',
        direction: 'ingress',
        start_at: T(45, 1),
        end_at: T(45, 21),
        src_ip: '10.128.0.4',
        src_port: 40045,
        dst_ip: '10.128.0.5',
        dst_port: 5432,
        bytes: 690,
      },
      {
        flow_id: 'gcp/gateway',
        source_type: 'gcp_vpc',
        reporter: 'DEST_GATEWAY',
        instance_id: 'vpn-gw',
        direction: 'ingress',
        start_at: T(45),
        end_at: T(45, 20),
        src_ip: '10.128.0.4',
        src_port: 40045,
        dst_ip: '10.128.0.5',
        dst_port: 5432,
        bytes: 700,
      },
    ],
    expect: Object.fromEntries(
      ['gcp/src', 'gcp/dest', 'gcp/gateway'].map((name) => [
        name,
        {
          counts: name === 'gcp/dest',
          countedAs: 'gcp/dest',
          observedBy: ['gcp_vpc:DEST/vm-b', 'gcp_vpc:DEST_GATEWAY/vpn-gw', 'gcp_vpc:SRC/vm-a'],
        },
      ]),
    ),
  },
  {
    name: "a NAT'd connection: the VM's record and the NAT gateway's have different addresses and do not merge",
    flows: [
      {
        flow_id: 'nat/vm',
        source_type: 'agent',
        observer_vm_id: 'app-1',
        direction: 'egress',
        start_at: T(40),
        end_at: T(40, 30),
        src_ip: '10.0.2.10',
        src_port: 40040,
        dst_ip: '203.0.113.5',
        dst_port: 443,
        bytes: 800,
      },
      {
        flow_id: 'nat/gateway',
        source_type: 'aws_vpc',
        interface_id: 'eni-nat-gateway',
        direction: 'egress',
        start_at: T(40),
        end_at: T(41),
        src_ip: '10.0.0.220',
        src_port: 61040,
        dst_ip: '203.0.113.5',
        dst_port: 443,
        bytes: 800,
      },
    ],
    expect: {
      'nat/vm': { counts: true, countedAs: 'nat/vm', observedBy: ['agent:app-1'] },
      'nat/gateway': { counts: true, countedAs: 'nat/gateway', observedBy: ['aws_vpc:eni-nat-gateway'] },
    },
  },
  {
    name: "an Azure VNet tuple at the server's NIC and the client's agent: the tuple counts both directions, the agent's record of the answer does not",
    flows: [vnetTuple('answer/vnet', 'MAC-SQL', 'ingress', T(50, 5), 40050), ...agentOfBothDirections('answer', 'app-1', 'egress', 50, 40050)],
    expect: answeredByTuple('answer', ['agent:app-1', 'azure_vnet:MAC-SQL']),
  },
  {
    name: "an Azure VNet tuple at the client's NIC and the server's agent: the agent's two records count, the tuple neither direction",
    flows: [vnetTuple('answer-at-client/vnet', 'MAC-APP', 'egress', T(51, 5), 40051), ...agentOfBothDirections('answer-at-client', 'sql-1', 'ingress', 51, 40051)],
    expect: {
      'answer-at-client/vnet': { counts: false, countedAs: 'answer-at-client/agent-request', observedBy: ['agent:sql-1', 'azure_vnet:MAC-APP'] },
      'answer-at-client/agent-request': { counts: true, countedAs: 'answer-at-client/agent-request', observedBy: ['agent:sql-1', 'azure_vnet:MAC-APP'] },
      'answer-at-client/agent-answer': { counts: true, countedAs: 'answer-at-client/agent-answer', observedBy: ['agent:sql-1', 'azure_vnet:MAC-APP'] },
    },
  },
  {
    name: 'the agent and the VNet flow log of one VM: the VNet tuple counts the request and the answer, the agent neither',
    flows: [vnetTuple('same-vm-answer/vnet', 'MAC-SQL', 'ingress', T(52, 5), 40052), ...agentOfBothDirections('same-vm-answer', 'sql-1', 'ingress', 52, 40052)],
    expect: answeredByTuple('same-vm-answer', ['agent:sql-1', 'azure_vnet:MAC-SQL']),
  },
  {
    name: "an Azure tuple's answer and a later record of the reversed tuple outside its minute: the later one still counts",
    flows: [
      vnetTuple('answer-later/vnet', 'MAC-SQL', 'ingress', T(53, 5), 40053),
      { flow_id: 'answer-later/agent-answer', source_type: 'agent', observer_vm_id: 'app-1', direction: 'ingress', start_at: T(55), end_at: T(55, 40), ...sqlAnswer(40053), bytes: 700 },
    ],
    expect: {
      'answer-later/vnet': { counts: true, countedAs: 'answer-later/vnet', observedBy: ['azure_vnet:MAC-SQL'] },
      'answer-later/agent-answer': { counts: true, countedAs: 'answer-later/agent-answer', observedBy: ['agent:app-1'] },
    },
  },
  {
    name: "two Azure tuples whose requests are each other's answers: the first ranked counts both directions",
    flows: [
      { ...vnetTuple('crossed/vnet-a', 'MAC-A', 'ingress', T(54, 5), 5060), dst_port: 5060, protocol: 17, bytes: 300, reverse_bytes: 400 },
      { ...vnetTuple('crossed/vnet-b', 'MAC-B', 'egress', T(54, 6), 5060), ...sqlAnswer(5060), src_port: 5060, protocol: 17, bytes: 400, reverse_bytes: 300 },
    ],
    expect: {
      'crossed/vnet-a': { counts: true, countedAs: 'crossed/vnet-a', observedBy: ['azure_vnet:MAC-A', 'azure_vnet:MAC-B'] },
      'crossed/vnet-b': { counts: false, countedAs: 'crossed/vnet-a', observedBy: ['azure_vnet:MAC-A', 'azure_vnet:MAC-B'] },
    },
  },
];

describe('counted once: one record of a connection and interval counts in totals', () => {
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  let rows: Map<string, { counts: boolean; countedAs: string | null; observedBy: string[]; bytes: bigint; flowId: string }>;

  beforeAll(async () => {
    enriched = await runEnrich(
      cases.flatMap((c) => c.flows),
      referenceOf({
        snapshots: [{ snapshot_at: '2024-05-01T00:00:00Z', vms: [vm('web-1', '10.0.1.10'), vm('app-1', '10.0.2.10'), vm('app-2', '10.0.2.11'), vm('sql-1', '10.0.3.10')] }],
      }),
    );
    const all = await enriched.session.all<{ flow_id: string; raw_object_key: string; counts_in_totals: boolean; counted_flow_id: string | null; observed_by: string[]; bytes: bigint }>(
      'SELECT flow_id, raw_object_key, counts_in_totals, counted_flow_id, observed_by, bytes FROM flows',
    );
    const nameOf = new Map(all.map((row) => [row.flow_id, row.raw_object_key]));
    rows = new Map(
      all.map((row) => [
        row.raw_object_key,
        {
          counts: row.counts_in_totals,
          countedAs: row.counted_flow_id === null ? null : (nameOf.get(row.counted_flow_id) ?? row.counted_flow_id),
          observedBy: [...row.observed_by],
          bytes: row.bytes,
          flowId: row.flow_id,
        },
      ]),
    );
  });
  afterAll(() => enriched.close());

  it.each(cases.filter((c) => Object.keys(c.expect).length > 0))('$name', ({ expect: expected }) => {
    for (const [name, want] of Object.entries(expected)) {
      const { counts, countedAs, observedBy } = rows.get(name)!;
      expect({ name, counts, countedAs, observedBy }).toEqual({ name, ...want });
    }
  });

  it("two NSGs (the subnet's and the NIC's) of one NIC: exactly one tuple counts, the one with the smaller flow_id, and both name it", () => {
    const [a, b] = [rows.get(NSG_KEY('NSG-SUBNET', 'a'))!, rows.get(NSG_KEY('NSG-NIC', 'b'))!];
    const winner = a.flowId < b.flowId ? NSG_KEY('NSG-SUBNET', 'a') : NSG_KEY('NSG-NIC', 'b');
    expect([a.counts, b.counts].filter(Boolean)).toHaveLength(1);
    expect([a.countedAs, b.countedAs]).toEqual([winner, winner]);
    expect(a.observedBy).toEqual(['azure_nsg:NSG-NIC/000D3A000002', 'azure_nsg:NSG-SUBNET/000D3A000002']);
  });

  it("the totals count each connection once: the counted bytes are the connections' bytes as their best-placed observer saw them", async () => {
    const [total] = await enriched.session.all<{ bytes: bigint }>(`SELECT sum(bytes)::BIGINT AS bytes FROM flows WHERE counts_in_totals AND raw_object_key LIKE 'disagree/%'`);
    expect(total!.bytes).toBe(1500n);
    const [matrixLike] = await enriched.session.all<{ bytes: bigint }>(`SELECT sum(bytes)::BIGINT AS bytes FROM flows WHERE counts_in_totals AND raw_object_key LIKE 'agents/%'`);
    expect(matrixLike!.bytes).toBe(5900n);
  });

  it("an Azure tuple's answer is counted once: request and answer bytes (bytes + reverse_bytes of the counting records) are the connection's, whichever end the tuple is at", async () => {
    const totals = await enriched.session.all<{ connection: string; bytes: bigint }>(
      `SELECT split_part(raw_object_key, '/', 1) AS connection, sum(coalesce(bytes, 0) + coalesce(reverse_bytes, 0))::BIGINT AS bytes
       FROM flows WHERE counts_in_totals AND split_part(raw_object_key, '/', 1) IN ('answer', 'answer-at-client', 'same-vm-answer', 'crossed') GROUP BY 1 ORDER BY 1`,
    );
    expect(totals.map((row) => [row.connection, row.bytes])).toEqual([
      ['answer', 5900n],
      ['answer-at-client', 5900n],
      ['crossed', 700n],
      ['same-vm-answer', 5900n],
    ]);
  });
});
