import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { BACKUP_TARGET, C2, deliverScenarioTraffic, HOURS, INVENTORY_YAML, RANGES_CSV, REUSED_IP, RULES_YAML, SCANNER, THREAT_FILES, TOR_EXIT, VM } from './scenario-traffic.ts';

/**
 * The design's conformance cases as end-to-end runs of the hourly job over realistic traffic
 * (AWS VPC Flow Logs and agent segments, two hours, background noise), with inventory snapshots,
 * ranges from CSV and three threat lists in three formats.
 */
const EXPECTED_ALERTS: Record<string, string[]> = {
  '2024-06-03T10': [
    `critical no-threat-endpoints ${TOR_EXIT} -> ${VM.web1.ip}:443 flows=1`,
    `high no-admin-ports-from-internet ${SCANNER} -> ${VM.web1.ip}:22 flows=1`,
    `high sql-only-from-app-1 ${VM.app2.ip} -> ${VM.sql1.ip}:1433 flows=3`,
    `medium datastore-only-from-vms ${VM.batch1.ip} -> 10.0.4.50:6379 flows=2`,
  ],
  '2024-06-03T11': [
    `critical no-threat-endpoints ${VM.app2.ip} -> ${C2}:443 flows=1`,
    `medium known-endpoints-only ${VM.app1.ip} -> 172.20.9.9:443 flows=1`,
    `medium no-batch-to-internet ${VM.batch1.ip} -> ${BACKUP_TARGET}:443 flows=3`,
  ],
};

describe('conformance scenarios end to end', () => {
  let lake: LakeFixture;
  let rulesFile: string;
  const results: Record<string, HourlyEtlResult> = {};

  beforeAll(async () => {
    const base = await createLakeFixture();
    const ref = (name: string) => path.join(base.dir, name);
    await writeFile(ref('inventory.yaml'), INVENTORY_YAML);
    await writeFile(ref('ranges.csv'), RANGES_CSV);
    await writeFile(ref('rules.yaml'), RULES_YAML);
    for (const [name, text] of Object.entries(THREAT_FILES)) await writeFile(ref(name), text);
    rulesFile = ref('rules.yaml');
    lake = await createLakeFixture({
      store: base.store,
      config: {
        ...base.config,
        reference: {
          inventory: ref('inventory.yaml'),
          ip_ranges: [ref('ranges.csv')],
          threat_lists: [
            { name: 'tor-exits', path: ref('tor-exits.txt') },
            { name: 'firehol_level1', path: ref('firehol_level1.netset'), format: 'netset' },
            { name: 'c2-feed', path: ref('c2-feed.csv'), format: 'csv', column: 'indicator' },
          ],
        },
        rules: rulesFile,
      },
    });
    const cleanup = lake.cleanup;
    lake.cleanup = async () => {
      await cleanup();
      await base.cleanup();
    };
    await deliverScenarioTraffic(lake.store);
    for (const hour of HOURS) results[hour] = await lake.runHour(hour);
  });
  afterAll(() => lake.cleanup());

  it('publishes both hours', () => {
    for (const result of Object.values(results)) expect(result.error ?? result.status).toBe('published');
  });

  it('raises exactly the expected alerts, one per rule, source, destination, port and hour', () => {
    for (const [hour, expected] of Object.entries(EXPECTED_ALERTS)) {
      const found = results[hour]!.alerts.map((a) => `${a.severity} ${a.rule_id} ${a.src_ip} -> ${a.dst_ip}:${a.dst_port} flows=${a.flow_count}`);
      expect(found, hour).toEqual(expected);
    }
  });

  it('SSH from the internet: the accepted attempt violates, the rejected RDP attempt does not', async () => {
    const rows = await queryLake(lake, `SELECT dst_port, action, verdict, violated_rule_ids FROM flows WHERE src_ip = '${SCANNER}' ORDER BY dst_port`);
    expect(rows).toEqual([
      { dst_port: 22, action: 'accept', verdict: 'non_conformant', violated_rule_ids: ['no-admin-ports-from-internet'] },
      { dst_port: 3389, action: 'reject', verdict: 'conformant', violated_rule_ids: [] },
    ]);
  });

  it('SQL server from one source only, and the datastore range only from VMs tagged vm', async () => {
    const rows = await queryLake(
      lake,
      `SELECT src_vm_id, dst_ip, count(*) AS n, list_distinct(flatten(list(violated_rule_ids))) AS rules
      FROM flows WHERE dst_port IN (1433, 6379) GROUP BY ALL ORDER BY ALL`,
    );
    expect(rows).toEqual([
      { src_vm_id: VM.app1.id, dst_ip: VM.sql1.ip, n: 120n, rules: [] },
      { src_vm_id: VM.app1.id, dst_ip: '10.0.4.50', n: 120n, rules: [] },
      { src_vm_id: VM.app2.id, dst_ip: VM.sql1.ip, n: 3n, rules: ['sql-only-from-app-1'] },
      { src_vm_id: VM.batch1.id, dst_ip: '10.0.4.50', n: 2n, rules: ['datastore-only-from-vms'] },
    ]);
  });

  it('an endpoint outside every known range is flagged; private endpoints inside ranges are not', async () => {
    const rows = await queryLake(lake, `SELECT dst_ip, dst_cidr, violated_rule_ids FROM flows WHERE list_contains(violated_rule_ids, 'known-endpoints-only')`);
    expect(rows).toEqual([{ dst_ip: '172.20.9.9', dst_cidr: null, violated_rule_ids: ['known-endpoints-only'] }]);
  });

  it('known-malicious addresses: the lists naming them are on the flow and on the alert', async () => {
    const flows = await queryLake(lake, `SELECT src_ip, dst_ip, src_threat_lists, dst_threat_lists FROM flows WHERE len(src_threat_lists) + len(dst_threat_lists) > 0 ORDER BY start_at`);
    expect(flows).toEqual([
      { src_ip: TOR_EXIT, dst_ip: VM.web1.ip, src_threat_lists: ['firehol_level1', 'tor-exits'], dst_threat_lists: [] },
      { src_ip: VM.app2.ip, dst_ip: C2, src_threat_lists: [], dst_threat_lists: ['c2-feed'] },
    ]);
    const alert = results['2024-06-03T11']!.alerts.find((a) => a.rule_id === 'no-threat-endpoints')!;
    expect(alert).toMatchObject({ dst_threat_lists: ['c2-feed'], src_vm_id: VM.app2.id, owner: 'security', rule_kind: 'threat' });
    expect(JSON.parse(alert.sample_flows)).toEqual([
      expect.objectContaining({
        source_type: 'agent',
        action: null,
        protocol: 6,
        flow_id: alert.sample_flow_ids[0],
        raw_object_key: expect.stringMatching(/^raw\/agent\/dt=2024-06-03\/hour=11\/vm=i-0app2\//),
      }),
    ]);
  });

  it('an exception that expires at 11:30 excuses the backup traffic before, not after', async () => {
    const rows = await queryLake<{ minute: string; verdict: string }>(lake, `SELECT strftime(start_at, '%H:%M') AS minute, verdict FROM flows WHERE dst_ip = '${BACKUP_TARGET}' ORDER BY start_at`);
    expect(rows.map((r) => `${r.minute} ${r.verdict}`)).toEqual([
      ...['10:00', '10:10', '10:20', '10:30', '10:40', '10:50', '11:00', '11:10', '11:20'].map((m) => `${m} conformant`),
      ...['11:30', '11:40', '11:50'].map((m) => `${m} non_conformant`),
    ]);
  });

  it("attributes a reused address to the VM that held it at the flow's time", async () => {
    const rows = await queryLake<{ minute: string; dst_vm_id: string; dst_segment: string }>(
      lake,
      `SELECT strftime(start_at, '%H:%M') AS minute, dst_vm_id, dst_segment FROM flows WHERE dst_ip = '${REUSED_IP}' ORDER BY start_at`,
    );
    const owner = (minute: string) => rows.find((r) => r.minute === minute)!;
    expect(owner('10:55')).toMatchObject({ dst_vm_id: 'i-0legacy', dst_segment: 'data' });
    expect(owner('11:10')).toMatchObject({ dst_vm_id: 'i-0legacy', dst_segment: 'data' });
    expect(owner('11:15')).toMatchObject({ dst_vm_id: 'i-0cache1', dst_segment: 'cache' });
    expect(owner('11:55')).toMatchObject({ dst_vm_id: 'i-0cache1', dst_segment: 'cache' });
    expect(rows).toHaveLength(24);
  });

  it('records the rules version on every violation and alert, and in the ledger', async () => {
    const version = `sha256:${createHash('sha256')
      .update(await readFile(rulesFile))
      .digest('hex')}`;
    const [counts] = await queryLake(lake, `SELECT count(*) AS n, count(DISTINCT rules_version) AS versions, min(rules_version) AS version FROM violations`);
    expect(counts).toEqual({ n: 12n, versions: 1n, version });
    expect(results['2024-06-03T10']!.alerts.every((a) => a.rules_version === version)).toBe(true);
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    expect(entries.map((e) => [e.hour, e.rules_hash, e.rules_version])).toEqual(HOURS.map((hour) => [hour, version.slice(7), '2024-06-03.1']));
  });

  it('gives every flow a verdict, and only violating flows name rules', async () => {
    const [row] = await queryLake(
      lake,
      `SELECT count(*) AS flows, count(*) FILTER (WHERE verdict = 'non_conformant') AS bad,
      count(*) FILTER (WHERE (verdict = 'non_conformant') <> (len(violated_rule_ids) > 0)) AS inconsistent FROM flows`,
    );
    expect(row).toMatchObject({ bad: 12n, inconsistent: 0n });
  });
});
