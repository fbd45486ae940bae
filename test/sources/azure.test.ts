import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeFiles, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

/** A VNet flow log record of the NIC (MAC 000D3AF87856) that the NSG v2 example logs, in the same hour. */
const overlappingVnetDocument = JSON.stringify({
  records: [
    {
      time: '2018-11-13T12:01:00.0000000Z',
      flowLogVersion: 4,
      flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
      macAddress: '000D3AF87856',
      category: 'FlowLogFlowEvent',
      operationName: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/FL',
      targetResourceID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/FABRIKAMRG/providers/Microsoft.Network/virtualNetworks/fabrikam-vnet/subnets/default',
      flowRecords: {
        flows: [
          {
            aclID: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
            flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: ['1542110406000,10.5.16.4,40.71.12.225,59929,443,6,O,E,X,15,8489,12,7054'] }],
          },
        ],
      },
    },
  ],
});

describe('Azure NSG (v1, v2) and VNet (v4) flow logs', () => {
  let dir: string;
  const r: Record<string, NormalizeFileResult> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-azure-'));
    await writeFile(path.join(dir, 'overlap-vnet.json'), overlappingVnetDocument);
    const files = [
      { file: path.join(FIXTURES, 'azure-nsg/v1-documented-tuples.json'), sourceType: 'azure_nsg' as const, objectKey: 'nsg-v1' },
      { file: path.join(FIXTURES, 'azure-nsg/v2-documented-example.json'), sourceType: 'azure_nsg' as const, objectKey: 'nsg-v2' },
      { file: path.join(FIXTURES, 'azure-vnet/v4-documented-example.json'), sourceType: 'azure_vnet' as const, objectKey: 'vnet' },
    ];
    for (const result of await normalizeFiles(files, { collectRows: true, threads: 2 })) r[result.objectKey] = result;
    const both = await normalizeFiles([files[1]!, { file: path.join(dir, 'overlap-vnet.json'), sourceType: 'azure_vnet', objectKey: 'overlap-vnet' }], { collectRows: true, threads: 2 });
    r['nsg-v2+vnet'] = both[0]!;
    r['overlap-vnet'] = both[1]!;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('NSG v2: T/U protocols, I/O, A/D, flow state, and counters in both directions (empty on B rows)', () => {
    const rows = r['nsg-v2']!.rows!;
    expect(rows).toHaveLength(11);
    expect(rows[0]).toMatchObject({
      raw_offset: 1_000_001n,
      start_at: new Date('2018-11-13T12:00:02Z'),
      src_ip: '94.102.49.190',
      dst_port: 443,
      protocol: 17,
      direction: 'ingress',
      action: 'reject',
      flow_state: 'begin',
      packets: 0n,
      bytes: 0n,
      reverse_packets: 0n,
      reverse_bytes: 0n,
      rule_name: 'DefaultRule_DenyAllInBound',
      mac_address: '000D3AF87856',
      account_id: '00000000-0000-0000-0000-000000000000',
      source_version: '2',
      counts_in_totals: true,
    });
    expect(rows.find((row) => row.src_port === 44931)).toMatchObject({
      flow_state: 'continuing',
      packets: 30n,
      bytes: 16978n,
      reverse_packets: 24n,
      reverse_bytes: 14008n,
      action: 'accept',
      direction: 'egress',
    });
    // Record 2's tuples follow record 1's: offsets are record * 1,000,000 + tuple.
    expect(rows.slice(7).map((row) => row.raw_offset)).toEqual([2_000_001n, 2_000_002n, 2_000_003n, 2_000_004n]);
  });

  it('NSG v1: eight fields, no flow state and no counters', () => {
    const rows = r['nsg-v1']!.rows!;
    expect(rows.map((row) => [row.dst_port, row.action, row.rule_name])).toEqual([
      [5358, 'reject', 'DefaultRule_DenyAllInBound'],
      [3389, 'reject', 'DefaultRule_DenyAllInBound'],
      [3389, 'accept', 'UserRule_default-allow-rdp'],
      [3389, 'accept', 'UserRule_default-allow-rdp'],
      [3389, 'accept', 'UserRule_default-allow-rdp'],
      [3389, 'accept', 'UserRule_default-allow-rdp'],
    ]);
    expect(rows[0]).toMatchObject({ flow_state: null, packets: 0n, bytes: 0n, reverse_packets: null, source_version: '1', mac_address: '000D3AF8801A' });
  });

  it('VNet v4: millisecond times, numeric protocol, D = denied, encryption and ACL id kept, deltas summed per flow', () => {
    const rows = r['vnet']!.rows!;
    expect(rows[1]).toMatchObject({
      start_at: new Date('2022-09-14T09:00:03.606Z'),
      src_ip: '10.0.0.6',
      dst_ip: '192.0.2.180',
      protocol: 6,
      direction: 'egress',
      action: 'accept',
      flow_state: 'end',
      flow_encryption: 'NX',
      acl_id: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      rule_name: 'DefaultRule_AllowInternetOutBound',
      packets: 3n,
      bytes: 767n,
      reverse_packets: 2n,
      reverse_bytes: 1580n,
      mac_address: '00224871C205',
      vpc_id: 'myVNet',
      region: 'eastus2euap',
      account_id: '00000000-0000-0000-0000-000000000000',
      source_version: '4',
    });
    expect(rows.filter((row) => row.flow_state === 'deny').every((row) => row.action === 'reject' && row.direction === 'ingress')).toBe(true);
    // B and E tuples of one flow: the totals are the sums, nothing counted twice.
    const flow = rows.filter((row) => row.src_port === 22730);
    expect(flow.map((row) => row.flow_state)).toEqual(['begin', 'end']);
    expect(flow.reduce((sum, row) => sum + (row.bytes as bigint), 0n)).toBe(705n);
    expect(flow.reduce((sum, row) => sum + (row.reverse_bytes as bigint), 0n)).toBe(4569n);
  });

  it('an NSG tuple of a NIC whose VNet flow log is read for the same hour does not count towards totals', () => {
    // The VNet record is of hour 12; the NSG blob also holds tuples of 11:59, which stay counted.
    const nsg = r['nsg-v2+vnet']!.rows!;
    const inHour12 = (row: Record<string, unknown>) => (row.start_at as Date) >= new Date('2018-11-13T12:00:00Z');
    expect(nsg.filter(inHour12)).toHaveLength(8);
    expect(nsg.filter(inHour12).every((row) => row.counts_in_totals === false)).toBe(true);
    expect(nsg.filter((row) => !inHour12(row)).map((row) => row.counts_in_totals)).toEqual([true, true, true]);
    expect(r['overlap-vnet']!.rows!.map((row) => row.counts_in_totals)).toEqual([true]);
    // The NSG v1 NIC (another MAC) and the NSG v2 file read without a VNet log still count.
    expect(r['nsg-v1']!.rows!.every((row) => row.counts_in_totals === true)).toBe(true);
    expect(r['nsg-v2']!.rows!.every((row) => row.counts_in_totals === true)).toBe(true);
  });
});
