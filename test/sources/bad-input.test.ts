import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeFiles, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import type { SourceType } from '../../lib/sources/source-definition.ts';

// Good records of each source, one line (or one tuple) each.
const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const aws = (fields: Partial<Record<'v' | 'src' | 'sport' | 'dport' | 'packets', string>> = {}) =>
  `${fields.v ?? '2'} 123456789012 eni-0a1b2c3d ${fields.src ?? '10.0.1.10'} 10.0.2.20 ${fields.sport ?? '40000'} ${fields.dport ?? '443'} 6 ${fields.packets ?? '10'} 5000 1714568410 1714568470 ACCEPT OK`;
const gcp = (payload: Record<string, unknown> = {}, connection: Record<string, unknown> = {}) =>
  JSON.stringify({
    logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows',
    timestamp: '2024-05-01T13:01:00Z',
    jsonPayload: {
      connection: { src_ip: '10.128.0.4', src_port: 40000, dest_ip: '10.128.0.5', dest_port: 443, protocol: 6, ...connection },
      bytes_sent: '100',
      packets_sent: '2',
      start_time: '2024-05-01T13:00:00Z',
      end_time: '2024-05-01T13:00:05Z',
      reporter: 'SRC',
      ...payload,
    },
  });
const oci = (data: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'com.oraclecloud.vcn.flowlogs.DataEvent',
    oracle: { vnicocid: 'ocid1.vnic.oc1.phx.x', tenantid: 'ocid1.tenancy.oc1..x' },
    data: {
      action: 'ACCEPT',
      bytesOut: 100,
      destinationAddress: '10.0.0.2',
      destinationPort: 443,
      startTime: 1714568410,
      endTime: 1714568470,
      packets: 2,
      protocol: 6,
      sourceAddress: '203.0.113.7',
      sourcePort: 50000,
      status: 'OK',
      version: '2',
      ...data,
    },
  });
const agent = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 1,
    vm_id: 'i-0app',
    interface_id: 'eth0',
    interval_start_at: '2024-05-01T13:10:00.000Z',
    interval_s: 60,
    start_at: '2024-05-01T13:10:01.000Z',
    end_at: '2024-05-01T13:10:02.000Z',
    src_ip: '10.0.2.10',
    dst_ip: '10.0.3.10',
    src_port: 50000,
    dst_port: 1433,
    protocol: 6,
    direction: 'egress',
    packets: 3,
    bytes: 180,
    tcp_flags: 24,
    ...fields,
  });
const nsgDoc = (tuples: string[], version: unknown = 2, category = 'NetworkSecurityGroupFlowEvent') =>
  JSON.stringify({
    records: [
      {
        time: '2024-05-01T13:01:00Z',
        category,
        resourceId: '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N',
        properties: { Version: version, flows: [{ rule: 'R', flows: [{ mac: '000D3AF87856', flowTuples: tuples }] }] },
      },
    ],
  });
const vnetDoc = (tuples: string[], version: unknown = 4, category = 'FlowLogFlowEvent') =>
  JSON.stringify(
    {
      records: [
        {
          time: '2024-05-01T13:01:00Z',
          flowLogVersion: version,
          macAddress: '00224871C205',
          category,
          targetResourceID: '/subscriptions/S/x',
          flowRecords: { flows: [{ aclID: 'a', flowGroups: [{ rule: 'R', flowTuples: tuples }] }] },
        },
      ],
    },
    null,
    2,
  );
const NSG_OK = '1714568410,10.0.1.10,10.0.2.20,40000,443,T,O,A,C,10,5000,8,4000';
const VNET_OK = '1714568410000,10.0.1.10,10.0.2.20,40000,443,6,O,C,NX,10,5000,8,4000';
const truncatedGzip = (text: string) => {
  const full = gzipSync(text.repeat(50));
  return full.subarray(0, Math.floor(full.length / 2));
};
const longLine = 'x'.repeat(1024 * 1024 + 10);
const notUtf8 = (before: string, after: string) => Buffer.concat([Buffer.from(`${before}\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(`${after}\n`)]);

interface Case {
  name: string;
  source: SourceType;
  body: string | Buffer;
  /** Quarantined records expected: offset (null: the whole object) and a pattern of the reason. */
  expected: [number | null, RegExp][];
  flows: number;
}

const CASES: Case[] = [
  // Truncated gzip: the object cannot be read at all.
  ...(['aws_vpc', 'gcp_vpc', 'oci_vcn', 'agent', 'azure_nsg'] as const).map((source): Case => ({
    name: `${source}: truncated gzip`,
    source,
    flows: 0,
    body: truncatedGzip({ aws_vpc: `${AWS_HEADER}\n${aws()}\n`, gcp_vpc: `${gcp()}\n`, oci_vcn: `${oci()}\n`, agent: `${agent()}\n`, azure_nsg: nsgDoc([NSG_OK]) }[source]),
    expected: [[null, /^object cannot be read: gzip stream is corrupt or truncated/]],
  })),
  // An empty file.
  ...(['aws_vpc', 'azure_nsg', 'azure_vnet', 'gcp_vpc', 'oci_vcn', 'agent'] as const).map((source): Case => ({
    name: `${source}: empty file`,
    source,
    body: '',
    flows: 0,
    expected: [[null, /^object is empty \(0 bytes\)$/]],
  })),
  // JSON cut mid-way.
  { name: 'gcp_vpc: JSON line cut mid-way', source: 'gcp_vpc', body: `${gcp()}\n${gcp().slice(0, 80)}\n`, flows: 1, expected: [[2, /^not valid JSON \(cut off or malformed\)$/]] },
  { name: 'oci_vcn: JSON line cut mid-way', source: 'oci_vcn', body: `${oci()}\n${oci().slice(0, 80)}`, flows: 1, expected: [[2, /^not valid JSON \(cut off or malformed\)$/]] },
  // JSON that is not an object (an array, a string, a number, a brace-led line that does not parse) is told apart from malformed text.
  ...(['gcp_vpc', 'oci_vcn'] as const).map((source): Case => ({
    name: `${source}: JSON values that are not objects, and a line that only starts like one`,
    source,
    body: `${source === 'gcp_vpc' ? gcp() : oci()}\n[1, 2]\n"text"\n42\n{"jsonPayload": {}} trailing\n`,
    flows: 1,
    expected: [
      [2, /^not a JSON object$/],
      [3, /^not a JSON object$/],
      [4, /^not a JSON object$/],
      [5, /^not valid JSON \(cut off or malformed\)$/],
    ],
  })),
  { name: 'agent: JSON line cut mid-way', source: 'agent', body: `${agent()}\n${agent().slice(0, 40)}\n`, flows: 1, expected: [[2, /^not a JSON object$/]] },
  { name: 'azure_nsg: document cut mid-way', source: 'azure_nsg', body: nsgDoc([NSG_OK]).slice(0, 150), flows: 0, expected: [[null, /^object cannot be read: JSON document is cut off at line 1/]] },
  {
    name: 'azure_vnet: pretty-printed document cut mid-way',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK]).split('\n').slice(0, 12).join('\n'),
    flows: 0,
    expected: [[null, /^object cannot be read: JSON document is cut off at line 1[12]/]],
  },
  // Wrong types.
  {
    name: 'aws_vpc: wrong types',
    source: 'aws_vpc',
    body: `${AWS_HEADER}\n${aws()}\n${aws({ sport: 'http', packets: 'many' })}\n`,
    flows: 1,
    expected: [[3, /^srcport: "http" is not a port \(0-65535\); packets: "many" is not a non-negative integer$/]],
  },
  { name: 'gcp_vpc: wrong types', source: 'gcp_vpc', body: `${gcp({ bytes_sent: 'lots' })}\n${gcp()}\n`, flows: 1, expected: [[1, /^bytes_sent: "lots" is not a non-negative integer$/]] },
  { name: 'oci_vcn: wrong types', source: 'oci_vcn', body: `${oci({ packets: 'two' })}\n`, flows: 0, expected: [[1, /^data\.packets: "two" is not a non-negative integer$/]] },
  { name: 'agent: wrong types', source: 'agent', body: `${agent({ src_port: 'http' })}\n`, flows: 0, expected: [[1, /^src_port: "http" is not a port/]] },
  {
    name: 'azure_nsg: wrong types',
    source: 'azure_nsg',
    body: nsgDoc([NSG_OK, '1714568410,10.0.1.10,10.0.2.20,http,443,X,O,A,C,10,5000,8,4000']),
    flows: 1,
    expected: [[1_000_002, /^record 1, tuple 2: source port: "http" is not a port \(0-65535\); protocol: "X" is not T or U$/]],
  },
  {
    name: 'azure_vnet: wrong types',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK, '1714568410000,10.0.1.10,10.0.2.20,40000,443,tcp,O,C,NX,ten,5000,8,4000']),
    flows: 1,
    expected: [[1_000_002, /^record 1, tuple 2: protocol: "tcp" is not an IANA protocol number \(0-255\); packets sent: "ten" is not a non-negative integer$/]],
  },
  // Out-of-range values and bad IPs.
  {
    name: 'aws_vpc: port 70000 and a bad IP',
    source: 'aws_vpc',
    body: `${AWS_HEADER}\n${aws({ src: '1.2.3.999', dport: '70000' })}\n`,
    flows: 0,
    expected: [[2, /^srcaddr: "1\.2\.3\.999" is not an IP address; dstport: "70000" is not a port \(0-65535\)$/]],
  },
  {
    name: 'gcp_vpc: port 70000 and a bad IP',
    source: 'gcp_vpc',
    body: `${gcp({}, { dest_port: 70000, src_ip: '10.0.0.300' })}\n`,
    flows: 0,
    expected: [[1, /^connection\.src_ip: "10\.0\.0\.300" is not an IP address; connection\.dest_port: "70000" is not a port/]],
  },
  {
    name: 'oci_vcn: port 70000 and a bad IP',
    source: 'oci_vcn',
    body: `${oci({ destinationPort: 70000, sourceAddress: 'not-an-ip' })}\n`,
    flows: 0,
    expected: [[1, /^data\.sourceAddress: "not-an-ip" is not an IP address; data\.destinationPort: "70000" is not a port/]],
  },
  {
    name: 'agent: port 70000 and a bad IP',
    source: 'agent',
    body: `${agent({ dst_port: 70000, dst_ip: '999.1.1.1' })}\n`,
    flows: 0,
    expected: [[1, /dst_ip: "999\.1\.1\.1" is not an IP address.*dst_port: "70000" is not a port/]],
  },
  {
    name: 'azure_nsg: port 70000 and a bad IP',
    source: 'azure_nsg',
    body: nsgDoc(['1714568410,10.0.1.300,10.0.2.20,40000,70000,T,O,A,C,10,5000,8,4000']),
    flows: 0,
    expected: [[1_000_001, /^record 1, tuple 1: source IP: "10\.0\.1\.300" is not an IP address; destination port: "70000" is not a port/]],
  },
  {
    name: 'azure_vnet: port 70000 and a bad IP',
    source: 'azure_vnet',
    body: vnetDoc(['1714568410000,10.0.1.10,::zz,40000,70000,6,O,C,NX,10,5000,8,4000']),
    flows: 0,
    expected: [[1_000_001, /^record 1, tuple 1: destination IP: "::zz" is not an IP address; destination port: "70000" is not a port/]],
  },
  // Unknown versions.
  // Times far outside any clock (18-19 digits): converting one to a timestamp overflowed and failed the whole run.
  {
    name: 'aws_vpc: a time of 18 digits, and one on a line with a field missing',
    source: 'aws_vpc',
    body: `${AWS_HEADER}\n${aws().replace('1714568410', '123456789012345678')}\n${aws().replace(' 1714568410 ', ' ').replace('ACCEPT OK', '123456789012345678 ACCEPT OK').replace(' 6 ', ' ')}\n${aws()}\n`,
    flows: 1,
    expected: [
      [2, /^start: "123456789012345678" is not a Unix time in seconds \(2000-2100\); end is before start$/],
      [3, /^expected 14 fields as the header says, found 13$/],
    ],
  },
  {
    name: 'oci_vcn: a time of 16 digits',
    source: 'oci_vcn',
    body: `${oci({ startTime: Number.MAX_SAFE_INTEGER })}\n`,
    flows: 0,
    expected: [[1, /^data\.startTime: "9007199254740991" is not a Unix time in seconds \(2000-2100\); data\.endTime is before data\.startTime$/]],
  },
  {
    name: 'azure_nsg: a time of 18 digits',
    source: 'azure_nsg',
    body: nsgDoc([NSG_OK, NSG_OK.replace('1714568410', '123456789012345678')]),
    flows: 1,
    expected: [[1_000_002, /^record 1, tuple 2: time: "123456789012345678" is not a Unix time in seconds \(2000-2100\)$/]],
  },
  {
    name: 'azure_vnet: a time of 19 digits',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK, VNET_OK.replace('1714568410000', '9123456789012345678')]),
    flows: 1,
    expected: [[1_000_002, /^record 1, tuple 2: time: "9123456789012345678" is not a Unix time in milliseconds \(2000-2100\)$/]],
  },
  {
    name: 'aws_vpc: unknown version',
    source: 'aws_vpc',
    body: `${AWS_HEADER}\n${aws({ v: '11' })}\n${aws()}\n`,
    flows: 1,
    expected: [[2, /^version: "11" is not a known flow log version \(2-10\)$/]],
  },
  {
    name: 'azure_nsg: unknown version',
    source: 'azure_nsg',
    body: nsgDoc([NSG_OK], 3),
    flows: 0,
    expected: [[1_000_000, /^record 1: properties\.Version: "3" is not a supported NSG flow log version \(1 or 2\)$/]],
  },
  {
    name: 'azure_vnet: unknown version',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK], 5),
    flows: 0,
    expected: [[1_000_000, /^record 1: flowLogVersion: "5" is not a supported VNet flow log version \(4\)$/]],
  },
  { name: 'oci_vcn: unknown version', source: 'oci_vcn', body: `${oci({ version: '9' })}\n`, flows: 0, expected: [[1, /^data\.version: "9" is not a supported VCN flow log version \(2\)$/]] },
  { name: 'agent: unknown version', source: 'agent', body: `${agent({ v: 7 })}\n`, flows: 0, expected: [[1, /^v: "7" is not a supported agent record version/]] },
  // A file of another format under a source's prefix.
  {
    name: 'azure_nsg: a VNet flow log under the NSG prefix',
    source: 'azure_nsg',
    body: vnetDoc([VNET_OK]),
    flows: 0,
    expected: [[1_000_000, /^record 1: category: "FlowLogFlowEvent" is not NetworkSecurityGroupFlowEvent/]],
  },
  {
    name: 'azure_vnet: an NSG flow log under the VNet prefix',
    source: 'azure_vnet',
    body: nsgDoc([NSG_OK]),
    flows: 0,
    expected: [[1_000_000, /^record 1: category: "NetworkSecurityGroupFlowEvent" is not FlowLogFlowEvent.*flowLogVersion: missing/]],
  },
  {
    name: 'azure_nsg: properties.flows that is not an array',
    source: 'azure_nsg',
    body: JSON.stringify({ records: [{ ...JSON.parse(nsgDoc([NSG_OK])).records[0], properties: { Version: 2, flows: { rule: 'R' } } }] }),
    flows: 0,
    expected: [[1_000_000, /^record 1: properties\.flows: missing or not an array$/]],
  },
  {
    name: 'azure_nsg: a group without flowTuples',
    source: 'azure_nsg',
    body: nsgDoc([NSG_OK]).replace('"flowTuples"', '"tuples"'),
    flows: 0,
    expected: [[1_000_000, /^record 1: properties\.flows\[\]\.flows\[\]\.flowTuples: missing or not an array in a group$/]],
  },
  {
    name: 'azure_vnet: an ACL flow without flowGroups',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK]).replace('"flowGroups"', '"groups"'),
    flows: 0,
    expected: [[1_000_000, /^record 1: flowRecords\.flows\[\]\.flowGroups: missing or not an array in a group$/]],
  },
  {
    name: 'azure_vnet: flowTuples that is not an array',
    source: 'azure_vnet',
    body: vnetDoc([VNET_OK]).replace(/"flowTuples": \[[^\]]*\]/, '"flowTuples": "1,2,3"'),
    flows: 0,
    expected: [[1_000_000, /^record 1: flowRecords\.flows\[\]\.flowGroups\[\]\.flowTuples: missing or not an array in a group$/]],
  },
  { name: 'azure_nsg: AWS text under the NSG prefix', source: 'azure_nsg', body: `${AWS_HEADER}\n${aws()}\n`, flows: 0, expected: [[null, /^object cannot be read: JSON document is not valid JSON/]] },
  {
    name: 'azure_vnet: JSON without records',
    source: 'azure_vnet',
    body: '{"value": []}',
    flows: 0,
    expected: [[null, /^object cannot be read: not a flow log document: expected a JSON object with a "records" array$/]],
  },
  { name: 'gcp_vpc: an OCI batch under the GCP prefix', source: 'gcp_vpc', body: `${oci()}\n`, flows: 0, expected: [[1, /^not a VPC flow log entry: jsonPayload is missing/]] },
  {
    name: 'gcp_vpc: another log (audit) under the GCP prefix',
    source: 'gcp_vpc',
    body: `${JSON.stringify({ logName: 'projects/p/logs/cloudaudit.googleapis.com%2Factivity', jsonPayload: {} })}\n`,
    flows: 0,
    expected: [[1, /^not a VPC flow log entry: logName/]],
  },
  { name: 'oci_vcn: a GCP export under the OCI prefix', source: 'oci_vcn', body: `${gcp()}\n`, flows: 0, expected: [[1, /^not a VCN flow log entry: type missing/]] },
  { name: 'aws_vpc: a GCP export under the AWS prefix', source: 'aws_vpc', body: `${gcp()}\n`, flows: 0, expected: [[1, /^expected 14 fields as the configured format says, found \d+/]] },
  {
    name: 'aws_vpc: a text file that is not Parquet under a .parquet key',
    source: 'aws_vpc',
    body: `${AWS_HEADER}\n${aws()}\n`,
    flows: 0,
    expected: [[null, /^object cannot be read: not a Parquet file/]],
  },
  // A line longer than 1 MiB.
  ...(['aws_vpc', 'gcp_vpc', 'oci_vcn', 'agent'] as const).map((source): Case => {
    const good = { aws_vpc: aws(), gcp_vpc: gcp(), oci_vcn: oci(), agent: agent() }[source];
    return {
      name: `${source}: a line over 1 MiB`,
      source,
      body: `${source === 'aws_vpc' ? `${AWS_HEADER}\n` : ''}${good}\n${longLine}\n${good}\n`,
      flows: 2,
      expected: [[source === 'aws_vpc' ? 3 : 2, /^line is 1048586 bytes, longer than the limit of 1048576$/]],
    };
  }),
  {
    name: 'azure_nsg: a record over 1 MiB',
    source: 'azure_nsg',
    body: nsgDoc([NSG_OK, ...Array.from({ length: 20_000 }, () => NSG_OK)]),
    flows: 0,
    expected: [[1_000_000, /^record 1 is \d+ bytes, longer than the limit of 1048576$/]],
  },
  // Bytes that are not UTF-8.
  ...(['aws_vpc', 'gcp_vpc', 'oci_vcn', 'agent'] as const).map((source): Case => {
    const good = { aws_vpc: aws(), gcp_vpc: gcp(), oci_vcn: oci(), agent: agent() }[source];
    return {
      name: `${source}: bytes that are not UTF-8`,
      source,
      body: notUtf8(source === 'aws_vpc' ? `${AWS_HEADER}\n${good}` : good, good),
      flows: 2,
      expected: [[source === 'aws_vpc' ? 3 : 2, /^line is not valid UTF-8$/]],
    };
  }),
  {
    name: 'azure_vnet: bytes that are not UTF-8',
    source: 'azure_vnet',
    body: Buffer.concat([
      Buffer.from(vnetDoc([VNET_OK]).replace('"R"', '"R\u0001"').split('\u0001')[0]!),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(vnetDoc([VNET_OK]).replace('"R"', '"R\u0001"').split('\u0001')[1]!),
    ]),
    flows: 0,
    expected: [[null, /^object cannot be read: line \d+ holds bytes that are not valid UTF-8$/]],
  },
];

describe('bad input of every source is quarantined with a reason naming the object and line, and the counts reconcile', () => {
  let dir: string;
  const results = new Map<string, NormalizeFileResult>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-bad-'));
    const files = await Promise.all(
      CASES.map(async (c, index) => {
        const file = path.join(dir, `${index}.bin`);
        await writeFile(file, c.body);
        // The key names the case; a key ending in .parquet makes AWS stage it as Parquet.
        const key = c.name.includes('.parquet') ? `case-${index}.log.parquet` : `case-${index}`;
        return { file, sourceType: c.source, objectKey: key };
      }),
    );
    for (const [index, result] of (await normalizeFiles(files, { threads: 2 })).entries()) results.set(CASES[index]!.name, result);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(CASES)('$name', (c) => {
    const r = results.get(c.name)!;
    expect(r.quarantine.map((q) => [q.raw_offset, q.reason])).toEqual(c.expected.map(([offset, reason]) => [offset, expect.stringMatching(reason)]));
    expect(r.flows).toBe(c.flows);
    expect(r.recordsRead).toBe(r.flows + r.nodata + r.skipdata + r.quarantined);
    expect(r.objectQuarantined).toBe(c.expected.some(([offset]) => offset === null));
  });
});
