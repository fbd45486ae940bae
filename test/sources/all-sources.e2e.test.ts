import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
const T = 1714568400; // 2024-05-01T13:00:00Z

const nsgRecord = (mac: string, tuples: string[]) => ({
  time: '2024-05-01T13:05:00.0000000Z',
  category: 'NetworkSecurityGroupFlowEvent',
  operationName: 'NetworkSecurityGroupFlowEvents',
  resourceId: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG',
  properties: { Version: 2, flows: [{ rule: 'UserRule_allow-https', flows: [{ mac, flowTuples: tuples }] }] },
});
// web NIC (MAC ...01) is logged by NSG and VNet flow logs; app NIC (MAC ...02) by the NSG only.
const NSG = JSON.stringify({
  records: [
    nsgRecord('000D3A000001', [`${T + 60},198.51.100.9,10.1.0.4,50001,443,T,I,A,B,,,,`, `${T + 120},198.51.100.9,10.1.0.4,50001,443,T,I,A,E,10,2000,8,9000`]),
    nsgRecord('000D3A000002', [`${T + 180},10.1.0.5,10.1.0.6,50002,5432,T,O,A,E,4,400,4,800`]),
  ],
});
const VNET = JSON.stringify({
  records: [
    {
      time: '2024-05-01T13:05:00.0000000Z',
      flowLogVersion: 4,
      macAddress: '000D3A000001',
      category: 'FlowLogFlowEvent',
      operationName: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/WEB',
      targetResourceID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/web-vnet',
      flowRecords: {
        flows: [
          {
            aclID: 'acl-1',
            flowGroups: [
              {
                rule: 'allow-https',
                flowTuples: [`${(T + 60) * 1000},198.51.100.9,10.1.0.4,50001,443,6,I,B,NX,0,0,0,0`, `${(T + 120) * 1000},198.51.100.9,10.1.0.4,50001,443,6,I,E,NX,10,2000,8,9000`],
              },
            ],
          },
        ],
      },
    },
  ],
});
const gcpEntry = (reporter: string, srcIp: string, dstIp: string, bytes: string) =>
  JSON.stringify({
    logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
    timestamp: '2024-05-01T13:10:00Z',
    resource: { type: 'gce_subnetwork', labels: { project_id: 'p', location: 'us-central1-a', subnetwork_name: 'default' } },
    jsonPayload: {
      connection: { src_ip: srcIp, src_port: 40000, dest_ip: dstIp, dest_port: 443, protocol: 6 },
      bytes_sent: bytes,
      packets_sent: '5',
      start_time: '2024-05-01T13:09:00Z',
      end_time: '2024-05-01T13:09:05Z',
      reporter,
    },
  });
const GCP = [
  gcpEntry('SRC', '10.128.0.4', '10.128.0.5', '700'),
  gcpEntry('DEST', '10.128.0.4', '10.128.0.5', '690'),
  gcpEntry('DEST', '35.235.241.46', '10.128.0.5', '300'),
  '{"jsonPayload": {"bytes_sent": "1',
].join('\n');
const ociEntry = (start: number, src: string) =>
  JSON.stringify({
    type: 'com.oraclecloud.vcn.flowlogs.DataEvent',
    oracle: { vnicocid: 'ocid1.vnic.oc1.phx.x', tenantid: 'ocid1.tenancy.oc1..x', vnicsubnetocid: 'ocid1.subnet.oc1.phx.x' },
    data: {
      action: 'ACCEPT',
      bytesOut: 1000,
      destinationAddress: '10.2.0.2',
      destinationPort: 443,
      startTime: start,
      endTime: start + 10,
      packets: 4,
      protocol: 6,
      sourceAddress: src,
      sourcePort: 51000,
      status: 'OK',
      version: '2',
    },
  });
const OCI = [ociEntry(T + 300, '203.0.113.7'), ociEntry(T - 120, '203.0.113.8')].join('\n');

const KEYS = {
  awsText: 'raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1305Z_aa11bb22.log.gz',
  awsParquet:
    'raw/aws_vpc/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=01/hour=13/123456789012_vpcflowlogs_us-east-1_fl-0e1f2a3b_20240501T1310Z_cc33dd44.log.parquet',
  nsg: 'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A000001/PT1H.json',
  nsgCut:
    'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/APP-NSG/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A000009/PT1H.json',
  vnet: 'raw/azure_vnet/insights-logs-flowlogflowevent/flowLogResourceID=/00000000-0000-0000-0000-000000000000/NETWORKWATCHERRG/NETWORKWATCHER_EASTUS_WEB/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A000001/PT1H.json',
  gcp: 'raw/gcp_vpc/compute.googleapis.com/vpc_flows/2024/05/01/13:00:00_13:59:59_S0.json',
  oci: 'raw/oci_vcn/ocid1.serviceconnector.oc1.phx.amaaaaaaexample/20240501T130500Z_20240501T131000Z.0.log',
  agent: 'raw/agent/dt=2024-05-01/hour=13/vm=i-0app00000000001/i-0app00000000001-000000000001.ndjson.gz',
};

describe('the hourly job reads every source from its native layout', () => {
  let lake: LakeFixture;
  let result: HourlyEtlResult;

  beforeAll(async () => {
    lake = await createLakeFixture();
    const put = (key: string, body: Buffer | string) => lake.store.putBytes(key, body);
    await put(KEYS.awsText, await readFile(path.join(FIXTURES, 'aws-vpc/v5-custom-order.log.gz')));
    await put(KEYS.awsParquet, await readFile(path.join(FIXTURES, 'aws-vpc/v5-parquet-delivery.log.parquet')));
    await put(KEYS.nsg, NSG);
    await put(KEYS.nsgCut, NSG.slice(0, 200));
    await put(KEYS.vnet, VNET);
    await put(KEYS.gcp, GCP);
    await put(KEYS.oci, OCI);
    await put(KEYS.agent, await readFile(path.join(FIXTURES, 'agent/spool-segment.ndjson.gz')));
    result = await lake.runHour('2024-05-01T13');
  }, 120_000);
  afterAll(() => lake.cleanup());

  it('publishes, with every source counted and reconciled', () => {
    expect(result.error ?? result.status).toBe('published');
    expect(result.inputs.map((input) => input.source_type).sort()).toEqual(['agent', 'aws_vpc', 'aws_vpc', 'azure_nsg', 'azure_nsg', 'azure_vnet', 'gcp_vpc', 'oci_vcn']);
    const counts = Object.fromEntries(
      Object.entries(result.countsBySource).map(([source, c]) => [source, [c.records_read, c.flows_published, c.other_hour, c.nodata, c.quarantined, c.objects_quarantined]]),
    );
    expect(counts).toEqual({
      aws_vpc: [4 + 3, 4 + 2, 0, 1, 0, 0],
      azure_nsg: [3, 3, 0, 0, 0, 1],
      azure_vnet: [2, 2, 0, 0, 0, 0],
      gcp_vpc: [4, 3, 0, 0, 1, 0],
      oci_vcn: [2, 1, 1, 0, 0, 0],
      agent: [3, 3, 0, 0, 0, 0],
    });
    for (const c of Object.values(result.countsBySource)) expect(c.records_read).toBe(c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined);
  });

  it('keeps lineage and typed provider columns in the curated flows', async () => {
    const bySource = await queryLake(lake, `SELECT source_type, count(*) AS n, count(DISTINCT raw_object_key) AS objects, min(raw_offset) AS first FROM flows GROUP BY 1 ORDER BY 1`);
    expect(bySource).toEqual([
      { source_type: 'agent', n: 3n, objects: 1n, first: 1n },
      { source_type: 'aws_vpc', n: 6n, objects: 2n, first: 1n },
      { source_type: 'azure_nsg', n: 3n, objects: 1n, first: 1_000_001n },
      { source_type: 'azure_vnet', n: 2n, objects: 1n, first: 1_000_001n },
      { source_type: 'gcp_vpc', n: 3n, objects: 1n, first: 1n },
      { source_type: 'oci_vcn', n: 1n, objects: 1n, first: 1n },
    ]);
    const [parquet] = await queryLake(lake, `SELECT raw_offset, traffic_path, pkt_dst_aws_service, region FROM flows WHERE raw_object_key = '${KEYS.awsParquet}' ORDER BY raw_offset LIMIT 1`);
    expect(parquet).toEqual({ raw_offset: 1n, traffic_path: 8, pkt_dst_aws_service: 'S3', region: 'us-east-1' });
  });

  it('counts traffic reported twice once in the traffic matrix (GCP SRC and DEST, Azure NSG and VNet of one NIC)', async () => {
    const twice = await queryLake(lake, `SELECT source_type, reporter, mac_address, bytes FROM flows WHERE NOT counts_in_totals ORDER BY source_type, bytes`);
    expect(twice).toEqual([
      { source_type: 'azure_nsg', reporter: null, mac_address: '000D3A000001', bytes: 0n },
      { source_type: 'azure_nsg', reporter: null, mac_address: '000D3A000001', bytes: 2000n },
      // The destination's report counts (the one rule of docs/sources.md), the source's does not.
      { source_type: 'gcp_vpc', reporter: 'SRC', mac_address: null, bytes: 700n },
    ]);
    const [totals] = await queryLake(
      lake,
      `SELECT
        (SELECT sum(bytes) FROM traffic_matrix WHERE dimension = 'segment') AS matrix_bytes,
        (SELECT sum(bytes + coalesce(reverse_bytes, 0)) FROM flows WHERE counts_in_totals) AS counted_bytes,
        (SELECT sum(bytes) FROM flows) - (SELECT sum(bytes) FROM flows WHERE counts_in_totals) AS uncounted_bytes,
        (SELECT sum(reverse_bytes) FROM flows WHERE counts_in_totals) AS answer_bytes`,
    );
    // Both directions of a record that counts both (Azure's reverse counters) are in the matrix.
    expect(totals!.answer_bytes).toBeGreaterThan(0n);
    expect(totals!.matrix_bytes).toBe(totals!.counted_bytes);
    expect(totals!.uncounted_bytes).toBe(2000n + 700n);
  });

  it("counts an Azure tuple's answer (reverse_bytes) in the opposite pair of the traffic matrix, as a record of its own would", async () => {
    const vnet = await queryLake(
      lake,
      `SELECT coalesce(src_segment, 'unknown') AS src, coalesce(dst_segment, 'unknown') AS dst, bytes, reverse_bytes FROM flows WHERE source_type = 'azure_vnet' AND reverse_bytes > 0`,
    );
    expect(vnet.length).toBeGreaterThan(0);
    const matrix = new Map(
      (await queryLake(lake, `SELECT src_group, dst_group, bytes, flows FROM traffic_matrix WHERE dimension = 'segment'`)).map((row) => [`${row.src_group} -> ${row.dst_group}`, row]),
    );
    for (const row of vnet) expect((matrix.get(`${row.dst} -> ${row.src}`)?.bytes as bigint) >= (row.reverse_bytes as bigint)).toBe(true);
  });

  it('quarantines the bad objects and records with their object and offset', async () => {
    const rows = await queryLake(lake, `SELECT raw_object_key, raw_offset, reason FROM quarantine ORDER BY raw_object_key`);
    expect(rows).toEqual([
      { raw_object_key: KEYS.nsgCut, raw_offset: null, reason: expect.stringMatching(/^object cannot be read: JSON document is cut off at line 1/) },
      { raw_object_key: KEYS.gcp, raw_offset: 4n, reason: 'not valid JSON (cut off or malformed)' },
    ]);
  });
});
