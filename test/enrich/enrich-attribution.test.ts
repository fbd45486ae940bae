import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../../schemas/reference/inventory.ts';
import { referenceOf, runEnrich } from './enrich-harness.ts';

const vm = (vm_id: string, ip: string, extra: Partial<InventorySnapshot['vms'][number]> = {}) => ({
  vm_id,
  vm_name: vm_id,
  account_id: 'acct-1',
  segment: 'app',
  tags: ['vm'],
  interfaces: [{ interface_id: `eni-${vm_id}`, private_ips: [ip] }],
  ...extra,
});

describe('enrichment: longest prefix over overlapping IPv4 and IPv6 ranges', () => {
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  beforeAll(async () => {
    enriched = await runEnrich(
      [
        { flow_id: 'v4-deep', start_at: '2024-05-01T13:00:01', src_ip: '10.1.2.3', dst_ip: '10.1.2.200' },
        { flow_id: 'v4-mid', start_at: '2024-05-01T13:00:02', src_ip: '10.1.9.9', dst_ip: '10.200.0.1' },
        { flow_id: 'v4-host', start_at: '2024-05-01T13:00:03', src_ip: '10.1.2.77', dst_ip: '192.0.2.1' },
        { flow_id: 'v6', start_at: '2024-05-01T13:00:04', src_ip: '2001:db8:0:1::5', dst_ip: '2001:DB8:ffff::1' },
        { flow_id: 'v4-zero', start_at: '2024-05-01T13:00:05', src_ip: '8.8.8.8', dst_ip: '10.1.2.3' },
        { flow_id: 'mapped', start_at: '2024-05-01T13:00:06', src_ip: '::ffff:10.1.2.3', dst_ip: '10.1.2.3' },
      ],
      referenceOf({
        ranges: [
          { cidr: '0.0.0.0/0', name: 'everything-v4', tags: ['any4'] },
          { cidr: '10.0.0.0/8', name: 'corp', tags: ['corp'], segment: 'corp' },
          { cidr: '10.1.0.0/16', name: 'region-1', tags: ['r1'], segment: 'r1' },
          { cidr: '10.1.2.0/24', name: 'subnet-a', tags: ['a'], segment: 'a' },
          { cidr: '10.1.2.77', name: 'single-host', tags: ['host'] },
          { cidr: '2001:db8::/32', name: 'doc-v6', tags: ['v6'] },
          { cidr: '2001:db8:0:1::/64', name: 'doc-v6-sub', tags: ['v6sub'], segment: 'v6seg' },
        ],
      }),
    );
  });
  afterAll(() => enriched.close());

  it.each([
    ['v4-deep', 'src', '10.1.2.0/24', 'subnet-a', 'a'],
    ['v4-deep', 'dst', '10.1.2.0/24', 'subnet-a', 'a'],
    ['v4-mid', 'src', '10.1.0.0/16', 'region-1', 'r1'],
    ['v4-mid', 'dst', '10.0.0.0/8', 'corp', 'corp'],
    ['v4-host', 'src', '10.1.2.77/32', 'single-host', null],
    ['v4-host', 'dst', '0.0.0.0/0', 'everything-v4', null],
    ['v6', 'src', '2001:db8:0:1::/64', 'doc-v6-sub', 'v6seg'],
    ['v6', 'dst', '2001:db8::/32', 'doc-v6', null],
    ['v4-zero', 'src', '0.0.0.0/0', 'everything-v4', 'internet'],
    // An IPv4-mapped IPv6 address is IPv6: IPv4 ranges do not claim it.
    ['mapped', 'src', null, null, null],
  ])('%s %s → %s', async (flowId, side, cidr, name, segment) => {
    const [row] = await enriched.session.all(`SELECT ${side}_cidr AS cidr, ${side}_range_name AS name, ${side}_segment AS segment FROM flows_enriched WHERE raw_object_key = $1`, [flowId]);
    expect(row).toEqual({ cidr, name, segment });
  });

  it('plans the range and threat matches and the join back to flows as hash joins, never a nested loop or range join', async () => {
    const plan = (await enriched.session.all<{ explain_value: string }>(`EXPLAIN ${await enrichModelSql('endpoint_ranges')}`)).map((r) => r.explain_value).join('\n');
    expect(plan).toContain('HASH_JOIN');
    expect(plan).not.toMatch(/NESTED_LOOP_JOIN|BLOCKWISE_NL_JOIN|PIECEWISE_MERGE_JOIN|IE_JOIN|CROSS_PRODUCT/);
    for (const model of ['endpoint_threats', 'flows_enriched']) {
      const other = (await enriched.session.all<{ explain_value: string }>(`EXPLAIN ${await enrichModelSql(model)}`)).map((r) => r.explain_value).join('\n');
      expect(other, model).toContain('HASH_JOIN');
      expect(other, model).not.toMatch(/NESTED_LOOP_JOIN|BLOCKWISE_NL_JOIN|PIECEWISE_MERGE_JOIN|IE_JOIN|CROSS_PRODUCT/);
    }
  });
});

describe('enrichment: the same network in several ranges', () => {
  it('matches one of them (the first name) and keeps one row per flow', async () => {
    const enriched = await runEnrich(
      [{ flow_id: 'dup', start_at: '2024-05-01T13:00:01', src_ip: '10.7.0.5', dst_ip: '10.7.1.5' }],
      referenceOf({
        ranges: [
          { cidr: '10.7.0.0/16', name: 'zeta-from-ipam', tags: ['ipam'] },
          { cidr: '10.7.0.0/16', name: 'alpha-from-cmdb', tags: ['cmdb'], segment: 'cmdb' },
          { cidr: '10.7.0.9/16', name: 'host-bits-set', tags: [] },
          { cidr: '10.7.1.0/24', name: 'subnet', tags: [] },
        ],
      }),
    );
    try {
      expect(await enriched.session.all(`SELECT src_range_name, src_segment, src_tags, dst_range_name FROM flows_enriched`)).toEqual([
        { src_range_name: 'alpha-from-cmdb', src_segment: 'cmdb', src_tags: ['cmdb'], dst_range_name: 'subnet' },
      ]);
    } finally {
      await enriched.close();
    }
  });
});

describe('enrichment: dated inventory snapshots', () => {
  // 10.0.9.5 belongs to old-db until 13:30; the 13:30 snapshot gives it to new-web.
  const before: InventorySnapshot = { snapshot_at: '2024-05-01T06:00:00Z', vms: [vm('old-db', '10.0.9.5', { segment: 'data', tags: ['db'] }), vm('app-1', '10.0.2.10')] };
  const after: InventorySnapshot = { snapshot_at: '2024-05-01T13:30:00Z', vms: [vm('new-web', '10.0.9.5', { segment: 'web', tags: ['web'] }), vm('app-1', '10.0.2.10', { tags: ['vm', 'upgraded'] })] };
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  beforeAll(async () => {
    enriched = await runEnrich(
      [
        { flow_id: 'early', start_at: '2024-05-01T13:10:00', src_ip: '10.0.2.10', dst_ip: '10.0.9.5', interface_id: 'eni-app-1' },
        { flow_id: 'just-before', start_at: '2024-05-01T13:29:59.999', src_ip: '10.0.2.10', dst_ip: '10.0.9.5' },
        { flow_id: 'at-switch', start_at: '2024-05-01T13:30:00', src_ip: '10.0.2.10', dst_ip: '10.0.9.5', interface_id: 'eni-app-1' },
        { flow_id: 'late', start_at: '2024-05-01T13:59:00', src_ip: '10.0.9.5', dst_ip: '10.0.2.10' },
      ],
      referenceOf({ snapshots: [before, after] }),
    );
  });
  afterAll(() => enriched.close());

  it('attributes an address to the VM that held it when the flow started, not to a later owner', async () => {
    const rows = await enriched.session.all(`SELECT raw_object_key AS flow_id, src_vm_id, dst_vm_id, dst_segment, dst_tags, src_tags, observer_vm_id FROM flows_enriched ORDER BY start_at`);
    expect(rows).toEqual([
      { flow_id: 'early', src_vm_id: 'app-1', dst_vm_id: 'old-db', dst_segment: 'data', dst_tags: ['db'], src_tags: ['vm'], observer_vm_id: 'app-1' },
      { flow_id: 'just-before', src_vm_id: 'app-1', dst_vm_id: 'old-db', dst_segment: 'data', dst_tags: ['db'], src_tags: ['vm'], observer_vm_id: null },
      { flow_id: 'at-switch', src_vm_id: 'app-1', dst_vm_id: 'new-web', dst_segment: 'web', dst_tags: ['web'], src_tags: ['upgraded', 'vm'], observer_vm_id: 'app-1' },
      { flow_id: 'late', src_vm_id: 'new-web', dst_vm_id: 'app-1', dst_segment: 'app', dst_tags: ['upgraded', 'vm'], src_tags: ['web'], observer_vm_id: null },
    ]);
  });

  it('knows no VM before the first dated snapshot', async () => {
    const early = await runEnrich([{ flow_id: 'f', start_at: '2024-05-01T05:59:00', src_ip: '10.0.2.10', dst_ip: '10.0.9.5' }], referenceOf({ snapshots: [before, after] }), '2024-05-01T05:00:00');
    try {
      expect(await early.session.all(`SELECT src_vm_id, dst_vm_id FROM flows_enriched`)).toEqual([{ src_vm_id: null, dst_vm_id: null }]);
    } finally {
      await early.close();
    }
  });
});

describe('enrichment: threat lists', () => {
  it('records every list naming either end, by address or by network, IPv4 and IPv6', async () => {
    const enriched = await runEnrich(
      [
        { flow_id: 'tor', start_at: '2024-05-01T13:01:00', src_ip: '185.220.101.45', dst_ip: '10.0.1.10' },
        { flow_id: 'c2', start_at: '2024-05-01T13:02:00', src_ip: '10.0.1.10', dst_ip: '203.0.113.77' },
        { flow_id: 'v6', start_at: '2024-05-01T13:03:00', src_ip: '2001:db8:bad::1', dst_ip: '10.0.1.10' },
        { flow_id: 'clean', start_at: '2024-05-01T13:04:00', src_ip: '10.0.1.10', dst_ip: '93.184.216.34' },
      ],
      referenceOf({
        threats: [
          { list: 'tor-exits', cidr: '185.220.101.45' },
          { list: 'firehol_level1', cidr: '185.220.100.0/22' },
          { list: 'firehol_level1', cidr: '203.0.113.0/24' },
          { list: 'c2-feed', cidr: '203.0.113.77' },
          { list: 'v6-bad', cidr: '2001:db8:bad::/48' },
        ],
      }),
    );
    try {
      const rows = await enriched.session.all(`SELECT raw_object_key AS flow_id, src_threat_lists, dst_threat_lists FROM flows_enriched ORDER BY start_at`);
      expect(rows).toEqual([
        { flow_id: 'tor', src_threat_lists: ['firehol_level1', 'tor-exits'], dst_threat_lists: [] },
        { flow_id: 'c2', src_threat_lists: [], dst_threat_lists: ['c2-feed', 'firehol_level1'] },
        { flow_id: 'v6', src_threat_lists: ['v6-bad'], dst_threat_lists: [] },
        { flow_id: 'clean', src_threat_lists: [], dst_threat_lists: [] },
      ]);
    } finally {
      await enriched.close();
    }
  });
});

async function enrichModelSql(name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { SQL_DIR } = await import('./enrich-harness.ts');
  return readFile(`${SQL_DIR}/enrich/${name}.sql`, 'utf8');
}
