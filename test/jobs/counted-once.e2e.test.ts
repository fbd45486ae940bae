import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../schemas/agent-record.ts';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { buildComplianceReport } from '../../lib/reports/compliance-report.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

/**
 * One hour of traffic between the sample inventory's VMs, each connection reported by every
 * observer on its path: agents (app-1, app-2, sql-1), AWS ENI flow logs (web-1, web-2, sql-1),
 * GCP VPC flow logs (batch-1, as if it ran there) and an Azure VNet flow log (the datastore's NIC,
 * whose tuples carry the answers). Every observer reports the same packets; the
 * traffic matrix must hold each connection's bytes once per segment pair, as generated.
 */
const VM = {
  web1: { id: 'i-0web00000000001', name: 'web-1', ip: '10.0.1.10', segment: 'web', eni: 'eni-0web1000000000001', agent: false, gcp: false, vnet: null },
  web2: { id: 'i-0web00000000002', name: 'web-2', ip: '10.0.1.11', segment: 'web', eni: 'eni-0web2000000000002', agent: false, gcp: false, vnet: null },
  app1: { id: 'i-0app00000000001', name: 'app-1', ip: '10.0.2.10', segment: 'app', eni: null, agent: true, gcp: false, vnet: null },
  app2: { id: 'i-0app00000000002', name: 'app-2', ip: '10.0.2.11', segment: 'app', eni: null, agent: true, gcp: false, vnet: null },
  sql1: { id: 'i-0sql00000000001', name: 'sql-1', ip: '10.0.3.10', segment: 'data', eni: 'eni-0sql1000000000001', agent: true, gcp: false, vnet: null },
  batch1: { id: 'i-0batch000000001', name: 'batch-1', ip: '10.0.5.20', segment: 'batch', eni: null, agent: false, gcp: true, vnet: null },
  // In the datastore subnet (segment data), no VM: the other end observes, and an Azure VNet flow
  // log of the datastore's NIC, each of its tuples carrying the connection's answer.
  datastore: { id: null, name: null, ip: '10.0.4.50', segment: 'data', eni: null, agent: false, gcp: false, vnet: '000D3A0000D5' },
} as const;
type Endpoint = (typeof VM)[keyof typeof VM];

interface Connection {
  client: Endpoint;
  server: Endpoint;
  clientPort: number;
  serverPort: number;
  minute: number;
  requestBytes: number;
  responseBytes: number;
  rejectedByServer?: true;
}

const HOUR_S = Date.parse('2024-05-01T13:00:00Z') / 1000;
const pairs: [Endpoint, Endpoint, number][] = [
  [VM.app1, VM.sql1, 1433], // agent ↔ agent + ENI
  [VM.web1, VM.app2, 8080], // ENI ↔ agent
  [VM.batch1, VM.sql1, 1433], // GCP ↔ agent + ENI
  [VM.web2, VM.batch1, 9000], // ENI ↔ GCP
  [VM.app2, VM.datastore, 6379], // agent ↔ Azure VNet tuple with the answer
  [VM.web1, VM.web2, 443], // ENI ↔ ENI
];
const connections: Connection[] = [
  ...pairs.flatMap(([client, server, serverPort], p) =>
    Array.from({ length: 4 }, (_, i) => ({
      client,
      server,
      serverPort,
      clientPort: 40000 + p * 100 + i,
      minute: 5 + p * 8 + i,
      requestBytes: 1000 + 37 * p + 11 * i,
      responseBytes: 20_000 + 501 * p + 97 * i,
    })),
  ),
  // sql-1's security group rejects app-2: its ENI logs REJECT, its agent sees nothing, no answer.
  { client: VM.app2, server: VM.sql1, serverPort: 1433, clientPort: 41000, minute: 55, requestBytes: 120, responseBytes: 0, rejectedByServer: true },
];

interface Observation {
  observer: Endpoint;
  kind: 'agent' | 'eni' | 'gcp' | 'vnet';
  src: Endpoint;
  dst: Endpoint;
  srcPort: number;
  dstPort: number;
  startS: number;
  endS: number;
  bytes: number;
  /** An Azure tuple's answer: bytes from destination to source in the same record. */
  answerBytes?: number;
  action?: 'REJECT';
}

/** Every observer on both ends of both directions of every connection. */
function observations(): Observation[] {
  const out: Observation[] = [];
  for (const c of connections) {
    const startS = HOUR_S + c.minute * 60 + 3;
    if (c.rejectedByServer) {
      const request = { src: c.client, dst: c.server, srcPort: c.clientPort, dstPort: c.serverPort, bytes: c.requestBytes, startS, endS: startS + 30 };
      out.push({ observer: c.client, kind: 'agent', ...request }, { observer: c.server, kind: 'eni', ...request, action: 'REJECT' });
      continue;
    }
    const directions = [
      { src: c.client, dst: c.server, srcPort: c.clientPort, dstPort: c.serverPort, bytes: c.requestBytes },
      { src: c.server, dst: c.client, srcPort: c.serverPort, dstPort: c.clientPort, bytes: c.responseBytes },
    ];
    // An Azure NIC logs one tuple a connection, its answer in the same record.
    for (const end of [c.client, c.server].filter((e) => e.vnet)) out.push({ observer: end, kind: 'vnet', ...directions[0]!, answerBytes: c.responseBytes, startS, endS: startS + 30 });
    for (const d of directions) {
      for (const end of [c.client, c.server]) {
        if (end.agent) out.push({ observer: end, kind: 'agent', ...d, startS, endS: startS + 30 });
        if (end.eni) out.push({ observer: end, kind: 'eni', ...d, startS, endS: startS + 30 });
        if (end.gcp) out.push({ observer: end, kind: 'gcp', ...d, startS, endS: startS + 30 });
      }
    }
  }
  return out;
}

const iso = (s: number, ms = 0) => new Date(s * 1000 + ms).toISOString();

describe('each connection counts once: an hour of both-ends traffic from agents, AWS, GCP and Azure', () => {
  let lake: LakeFixture;
  let result: HourlyEtlResult;
  const all = observations();

  beforeAll(async () => {
    lake = await createLakeFixture();
    for (const vm of Object.values(VM).filter((v) => v.agent)) {
      const records: AgentRecord[] = all
        .filter((o) => o.kind === 'agent' && o.observer === vm)
        .map((o) => ({
          v: 1,
          vm_id: vm.id,
          interface_id: 'eth0',
          interval_start_at: iso(o.startS - (o.startS % 60)),
          interval_s: 60,
          // The agent's clock and capture: a few milliseconds after the wire time the ENI logs.
          start_at: iso(o.startS, 4),
          end_at: iso(o.endS, 4),
          src_ip: o.src.ip,
          dst_ip: o.dst.ip,
          src_port: o.srcPort,
          dst_port: o.dstPort,
          protocol: 6,
          direction: o.dst === vm ? 'ingress' : 'egress',
          packets: Math.ceil(o.bytes / 1000),
          bytes: o.bytes,
          tcp_flags: 0x1b,
        }));
      await lake.store.putBytes(`raw/agent/dt=2024-05-01/hour=13/vm=${vm.id}/${vm.id}-000000000001.ndjson.gz`, gzipSync(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    }
    const awsLines = all
      .filter((o) => o.kind === 'eni')
      .map((o) => `2 123456789012 ${o.observer.eni} ${o.src.ip} ${o.dst.ip} ${o.srcPort} ${o.dstPort} 6 ${Math.ceil(o.bytes / 1000)} ${o.bytes} ${o.startS} ${o.endS} ${o.action ?? 'ACCEPT'} OK`);
    await lake.store.putBytes(
      'raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1355Z_aa11bb22.log.gz',
      gzipSync(['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status', ...awsLines].join('\n') + '\n'),
    );
    const gcpLines = all
      .filter((o) => o.kind === 'gcp')
      .map((o) => {
        const reporter = o.src === o.observer ? 'SRC' : 'DEST';
        const instance = { vm_name: o.observer.name, project_id: 'p', region: 'us-central1', zone: 'us-central1-a' };
        return JSON.stringify({
          logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
          timestamp: iso(o.endS + 10),
          resource: { type: 'gce_subnetwork', labels: { project_id: 'p', location: 'us-central1-a', subnetwork_name: 'default' } },
          jsonPayload: {
            connection: { src_ip: o.src.ip, src_port: o.srcPort, dest_ip: o.dst.ip, dest_port: o.dstPort, protocol: 6 },
            bytes_sent: String(o.bytes),
            packets_sent: String(Math.ceil(o.bytes / 1000)),
            start_time: iso(o.startS),
            end_time: iso(o.endS),
            reporter,
            ...(reporter === 'SRC' ? { src_instance: instance } : { dest_instance: instance }),
          },
        });
      });
    await lake.store.putBytes('raw/gcp_vpc/compute.googleapis.com/vpc_flows/2024/05/01/13:00:00_13:59:59_S0.json', gcpLines.join('\n') + '\n');
    const vnetTuples = all
      .filter((o) => o.kind === 'vnet')
      .map(
        (o) =>
          `${o.startS * 1000},${o.src.ip},${o.dst.ip},${o.srcPort},${o.dstPort},6,${o.dst === o.observer ? 'I' : 'O'},E,NX,${Math.ceil(o.bytes / 1000)},${o.bytes},${Math.ceil(o.answerBytes! / 1000)},${o.answerBytes}`,
      );
    const vnetRecord = {
      time: '2024-05-01T13:59:00.0000000Z',
      flowLogVersion: 4,
      macAddress: VM.datastore.vnet,
      category: 'FlowLogFlowEvent',
      operationName: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/DATA',
      targetResourceID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/data-vnet',
      flowRecords: { flows: [{ aclID: 'acl-1', flowGroups: [{ rule: 'allow-redis', flowTuples: vnetTuples }] }] },
    };
    await lake.store.putBytes(
      `raw/azure_vnet/insights-logs-flowlogflowevent/flowLogResourceID=/00000000-0000-0000-0000-000000000000/NETWORKWATCHERRG/NETWORKWATCHER_EASTUS_DATA/y=2024/m=05/d=01/h=13/m=00/macAddress=${VM.datastore.vnet}/PT1H.json`,
      JSON.stringify({ records: [vnetRecord] }),
    );
    result = await lake.runHour('2024-05-01T13');
  }, 120_000);
  afterAll(() => lake.cleanup());

  it('publishes every observation, none quarantined', async () => {
    expect(result.error ?? result.status).toBe('published');
    expect(result.counts.quarantined).toBe(0);
    const [{ n }] = (await queryLake(lake, 'SELECT count(*) AS n FROM flows')) as [{ n: bigint }];
    expect(Number(n)).toBe(all.length);
    // Two directions of 24 connections, each reported by two or three observers but one.
    expect(all.length).toBeGreaterThan(2 * connections.length * 2 - 8);
  });

  it('counts exactly one observation per direction of each connection (an Azure tuple observes both)', async () => {
    const rows = await queryLake(
      lake,
      `WITH directions AS (
         SELECT src_ip, src_port, dst_ip, dst_port, counts_in_totals, counted_flow_id FROM flows
         UNION ALL
         SELECT dst_ip, dst_port, src_ip, src_port, counts_in_totals, counted_flow_id FROM flows WHERE reverse_bytes IS NOT NULL
       )
       SELECT src_ip, src_port, dst_ip, dst_port, count(*) FILTER (WHERE counts_in_totals) AS counted, count(DISTINCT counted_flow_id) AS ids FROM directions GROUP BY ALL`,
    );
    expect(rows).toHaveLength(2 * connections.length - 1);
    for (const row of rows) expect(row, `${row.src_ip}:${row.src_port} -> ${row.dst_ip}:${row.dst_port}`).toMatchObject({ counted: 1n, ids: 1n });
  });

  it("the traffic matrix holds each connection's bytes once per segment pair, as generated", async () => {
    const expected = new Map<string, number>();
    const add = (src: string, dst: string, bytes: number) => expected.set(`${src} -> ${dst}`, (expected.get(`${src} -> ${dst}`) ?? 0) + bytes);
    for (const c of connections) {
      add(c.client.segment, c.server.segment, c.requestBytes);
      if (!c.rejectedByServer) add(c.server.segment, c.client.segment, c.responseBytes);
    }
    const matrix = await queryLake(lake, `SELECT src_group || ' -> ' || dst_group AS pair, bytes FROM traffic_matrix WHERE dimension = 'segment' ORDER BY 1`);
    expect(Object.fromEntries(matrix.map((row) => [row.pair, Number(row.bytes)]))).toEqual(Object.fromEntries([...expected].sort()));
    const [{ records }] = (await queryLake(lake, 'SELECT sum(bytes) AS records FROM flows')) as [{ records: bigint }];
    // Summing every record would have counted most connections two or three times.
    expect(Number(records)).toBeGreaterThan(2 * [...expected.values()].reduce((a, b) => a + b, 0));
  });

  it('an alert counts the connections, not the records of their three observers', async () => {
    const [alert] = await queryLake(lake, `SELECT flow_count, observation_count, bytes, observed_by FROM alerts WHERE rule_id = 'sql-only-from-app-1' AND src_ip = '10.0.5.20'`);
    const batchToSql = connections.filter((c) => c.client === VM.batch1 && c.server === VM.sql1);
    expect(alert).toEqual({
      flow_count: BigInt(batchToSql.length),
      observation_count: BigInt(3 * batchToSql.length),
      bytes: BigInt(batchToSql.reduce((n, c) => n + c.requestBytes, 0)),
      observed_by: ['agent:i-0sql00000000001', 'aws_vpc:eni-0sql1000000000001', 'gcp_vpc:SRC/batch-1'],
    });
  });

  it("a connection the destination rejected: the ENI's REJECT counts, and the alert (the rule looks at any action) reports one connection of two records", async () => {
    const [counted] = await queryLake(lake, `SELECT source_type, action FROM flows WHERE src_port = 41000 AND counts_in_totals`);
    expect(counted).toEqual({ source_type: 'aws_vpc', action: 'reject' });
    const [alert] = await queryLake(lake, `SELECT flow_count, observation_count, bytes, observed_by FROM alerts WHERE rule_id = 'sql-only-from-app-1' AND src_ip = '10.0.2.11'`);
    expect(alert).toEqual({ flow_count: 1n, observation_count: 2n, bytes: 120n, observed_by: ['agent:i-0app00000000002', 'aws_vpc:eni-0sql1000000000001'] });
  });

  it("the compliance report's top talkers: each address's bytes sent once, the answers inside Azure tuples included", async () => {
    const sent = new Map<string, number>();
    const add = (ip: string, bytes: number) => sent.set(ip, (sent.get(ip) ?? 0) + bytes);
    for (const c of connections) {
      add(c.client.ip, c.requestBytes);
      if (!c.rejectedByServer) add(c.server.ip, c.responseBytes);
    }
    const report = await buildComplianceReport(
      {
        config: { ...lake.config, reports: { ...lake.config.reports, top_offenders: 50 } },
        baseDir: lake.dir,
        store: lake.store,
        ledger: runLedgerOf({ config: lake.config, baseDir: lake.dir }),
        logger: lake.logger,
      },
      { from: new Date('2024-05-01T13:00:00Z'), to: new Date('2024-05-01T14:00:00Z') },
    );
    expect(Object.fromEntries(report.network.top_talkers.map((t) => [t.src_ip, Number(t.bytes)]))).toEqual(Object.fromEntries(sent));
    // The datastore is no VM and runs no agent: what it sent is only in its NIC's tuples (reverse_bytes).
    expect(sent.get(VM.datastore.ip)).toBeGreaterThan(0);
  });

  it('names the observers of a connection on each of its records', async () => {
    const rows = await queryLake(lake, `SELECT source_type, counts_in_totals, observed_by FROM flows WHERE src_ip = '10.0.2.10' AND dst_port = 1433 AND src_port = 40000 ORDER BY source_type`);
    expect(rows).toEqual([
      { source_type: 'agent', counts_in_totals: false, observed_by: ['agent:i-0app00000000001', 'agent:i-0sql00000000001', 'aws_vpc:eni-0sql1000000000001'] },
      { source_type: 'agent', counts_in_totals: false, observed_by: ['agent:i-0app00000000001', 'agent:i-0sql00000000001', 'aws_vpc:eni-0sql1000000000001'] },
      { source_type: 'aws_vpc', counts_in_totals: true, observed_by: ['agent:i-0app00000000001', 'agent:i-0sql00000000001', 'aws_vpc:eni-0sql1000000000001'] },
    ]);
  });
});
