import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceOf, runEnrich } from '../enrich/enrich-harness.ts';

/**
 * Every selector, traffic filter and rule kind, each checked by the exact set of flows it flags,
 * over enriched flows (the real enrich models and the compiled rules in DuckDB).
 */
const vm = (vm_id: string, ip: string, segment: string, tags: string[], account = 'acct-prod') => ({
  vm_id,
  vm_name: vm_id,
  account_id: account,
  segment,
  tags,
  interfaces: [{ interface_id: `eni-${vm_id}`, private_ips: [ip] }],
});

const FLOWS = [
  { flow_id: 'ssh-internet', start_at: '2024-05-01T13:01:00', src_ip: '45.95.147.10', dst_ip: '10.0.1.10', dst_port: 22, direction: 'ingress' },
  { flow_id: 'ssh-internet-rejected', start_at: '2024-05-01T13:02:00', src_ip: '45.95.147.10', dst_ip: '10.0.1.10', dst_port: 22, action: 'reject', direction: 'ingress' },
  { flow_id: 'ssh-internal', start_at: '2024-05-01T13:03:00', src_ip: '10.0.2.10', dst_ip: '10.0.1.10', dst_port: 22 },
  { flow_id: 'rdp-udp', start_at: '2024-05-01T13:04:00', src_ip: '45.95.147.10', dst_ip: '10.0.1.10', dst_port: 3389, protocol: 17, direction: 'ingress' },
  { flow_id: 'sql-app1', start_at: '2024-05-01T13:05:00', src_ip: '10.0.2.10', dst_ip: '10.0.3.10', dst_port: 1433 },
  { flow_id: 'sql-app2', start_at: '2024-05-01T13:06:00', src_ip: '10.0.2.11', dst_ip: '10.0.3.10', dst_port: 1433 },
  { flow_id: 'sql-ops-subnet', start_at: '2024-05-01T13:07:00', src_ip: '10.0.8.5', dst_ip: '10.0.3.10', dst_port: 1433 },
  { flow_id: 'ephemeral', start_at: '2024-05-01T13:08:00', src_ip: '10.0.2.11', dst_ip: '10.0.3.10', dst_port: 50001 },
  { flow_id: 'dev-to-prod', start_at: '2024-05-01T13:09:00', src_ip: '10.9.0.5', dst_ip: '10.0.3.10', dst_port: 5432 },
  { flow_id: 'unknown-private', start_at: '2024-05-01T13:10:00', src_ip: '10.0.2.10', dst_ip: '172.20.9.9', dst_port: 443, direction: 'egress' },
  { flow_id: 'public-web', start_at: '2024-05-01T13:11:00', src_ip: '10.0.2.10', dst_ip: '93.184.216.34', dst_port: 443, direction: 'egress' },
  { flow_id: 'to-c2', start_at: '2024-05-01T13:12:00', src_ip: '10.0.2.11', dst_ip: '91.240.118.66', dst_port: 8443, direction: 'egress' },
  { flow_id: 'from-tor', start_at: '2024-05-01T13:13:00', src_ip: '185.220.101.45', dst_ip: '10.0.1.10', dst_port: 443, direction: 'ingress' },
  { flow_id: 'v6-admin', start_at: '2024-05-01T13:14:00', src_ip: '2001:db8:1::99', dst_ip: '2001:db8:aaaa::10', dst_port: 22 },
  { flow_id: 'backup-early', start_at: '2024-05-01T13:20:00', src_ip: '10.0.5.20', dst_ip: '10.0.3.10', dst_port: 1433 },
  { flow_id: 'backup-late', start_at: '2024-05-01T13:40:00', src_ip: '10.0.5.20', dst_ip: '10.0.3.10', dst_port: 1433 },
];

const RULES = [
  { id: 'deny-admin-internet', kind: 'deny', severity: 'high', from: { internet: true }, to: { any: true }, ports: [22, 3389], protocol: 'tcp', action: 'accept' },
  { id: 'deny-any-rdp-udp', kind: 'deny', severity: 'low', from: { any: true }, to: { segment: 'web' }, ports: ['3000-3999'], protocol: 17 },
  { id: 'deny-ingress-to-web-tag', kind: 'deny', severity: 'low', from: { cidr: '45.95.147.0/24' }, to: { tag: 'web' }, direction: 'ingress', action: 'reject' },
  { id: 'deny-dev-account', kind: 'deny', severity: 'medium', from: { account: 'acct-dev' }, to: { account: 'acct-prod' } },
  { id: 'deny-ip-v6', kind: 'deny', severity: 'medium', from: { cidr: '2001:db8:1::/48' }, to: { ip: '2001:db8:aaaa:0::10' }, ports: [22] },
  {
    id: 'sql-allow-only',
    kind: 'allow_only',
    severity: 'high',
    to: { vm: 'sql-1' },
    ports: [1433],
    from: [{ vm: 'app-1' }, { cidr: '10.0.8.0/24' }],
    exceptions: [{ reason: 'CHG-1 nightly backup migration', expires: '2024-05-01T13:30:00Z', from: { vm: 'batch-1' }, ports: [1433] }],
  },
  { id: 'known-private', kind: 'require_known', severity: 'medium' },
  { id: 'known-all-egress', kind: 'require_known', severity: 'low', scope: 'all', direction: 'egress' },
  { id: 'threat-any', kind: 'threat', severity: 'critical' },
  { id: 'threat-c2-dst', kind: 'threat', severity: 'critical', lists: ['c2'], side: 'dst' },
  { id: 'threat-src-tor', kind: 'threat', severity: 'high', side: 'src', lists: ['tor-exits', 'c2'] },
];

describe('rule kinds, selectors and filters', () => {
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  beforeAll(async () => {
    enriched = await runEnrich(
      FLOWS,
      referenceOf({
        snapshots: [
          {
            vms: [
              vm('web-1', '10.0.1.10', 'web', ['vm', 'web']),
              vm('app-1', '10.0.2.10', 'app', ['vm']),
              vm('app-2', '10.0.2.11', 'app', ['vm']),
              vm('sql-1', '10.0.3.10', 'data', ['sqlserver']),
              vm('batch-1', '10.0.5.20', 'batch', ['batch']),
              vm('dev-1', '10.9.0.5', 'dev', ['vm'], 'acct-dev'),
              vm('web-v6', '2001:db8:aaaa::10', 'web', ['web']),
            ],
          },
        ],
        ranges: [
          { cidr: '10.0.0.0/16', name: 'vpc', tags: ['internal'] },
          { cidr: '2001:db8::/32', name: 'v6', tags: [] },
        ],
        threats: [
          { list: 'c2', cidr: '91.240.118.0/24' },
          { list: 'tor-exits', cidr: '185.220.101.45' },
        ],
        rules: RULES,
      }),
    );
  });
  afterAll(() => enriched.close());

  it.each([
    ['deny-admin-internet', ['ssh-internet']],
    ['deny-any-rdp-udp', ['rdp-udp']],
    ['deny-ingress-to-web-tag', ['ssh-internet-rejected']],
    ['deny-dev-account', ['dev-to-prod']],
    ['deny-ip-v6', ['v6-admin']],
    ['sql-allow-only', ['backup-late', 'sql-app2']],
    ['known-private', ['unknown-private']],
    ['known-all-egress', ['public-web', 'to-c2', 'unknown-private']],
    ['threat-any', ['from-tor', 'to-c2']],
    ['threat-c2-dst', ['to-c2']],
    ['threat-src-tor', ['from-tor']],
  ])('%s flags exactly %j', async (ruleId, flows) => {
    const rows = await enriched.session.all<{ flow_id: string }>(`SELECT raw_object_key AS flow_id FROM rule_violations WHERE rule_id = $1 ORDER BY flow_id`, [ruleId]);
    expect(rows.map((r) => r.flow_id)).toEqual(flows);
  });

  it('gives every flow a verdict: the sorted ids of the rules it violates, or none', async () => {
    const rows = await enriched.session.all<{ flow_id: string; ids: string[] }>(`
      SELECT f.raw_object_key AS flow_id, coalesce(list_sort(list(v.rule_id) FILTER (WHERE v.rule_id IS NOT NULL)), []) AS ids
      FROM flows_enriched f LEFT JOIN rule_violations v USING (raw_object_key) GROUP BY f.raw_object_key ORDER BY flow_id`);
    const verdicts = Object.fromEntries(rows.map((r) => [r.flow_id, r.ids]));
    expect(verdicts['to-c2']).toEqual(['known-all-egress', 'threat-any', 'threat-c2-dst']);
    expect(verdicts['sql-app1']).toEqual([]);
    expect(verdicts['backup-early']).toEqual([]);
    expect(verdicts['ephemeral']).toEqual([]);
    expect(Object.keys(verdicts)).toHaveLength(FLOWS.length);
  });
});
