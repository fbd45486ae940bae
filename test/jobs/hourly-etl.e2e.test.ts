import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

// The violations data/samples/README.md promises the demo finds in the AWS and agent hours (every
// hour and source: test/samples/demo-expectations.e2e.test.ts).
const EXPECTED_ALERTS: Record<string, string[]> = {
  '2024-05-01T13': [
    'no-admin-ports-from-internet 185.220.101.45 -> 10.0.1.10:22 flows=1',
    'sql-only-from-app-1 10.0.2.11 -> 10.0.3.10:1433 flows=5',
    'datastore-only-from-vms 10.0.5.20 -> 10.0.4.50:6379 flows=3',
    'known-endpoints-only 10.0.2.10 -> 172.20.9.9:443 flows=1',
  ],
  '2024-05-01T14': ['no-admin-ports-from-internet 45.95.147.10 -> 10.0.1.11:22 flows=1'],
};

describe('the hourly job on the bundled samples', () => {
  let lake: LakeFixture;
  const results: Record<string, HourlyEtlResult> = {};

  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
    for (const hour of Object.keys(EXPECTED_ALERTS)) results[hour] = await lake.runHour(hour);
  });
  afterAll(() => lake.cleanup());

  it('publishes both hours', () => {
    for (const result of Object.values(results)) expect(result.error ?? result.status).toBe('published');
  });

  it('reports wall and CPU time for every phase and model', () => {
    for (const result of Object.values(results)) {
      const phases = Object.keys(result.durationsMs).filter((name) => name !== 'total' && !name.includes(':'));
      expect(Object.keys(result.cpuMs ?? {}).sort()).toEqual(phases.sort());
      // Building every model runs DuckDB's threads: measurable CPU, as is every model's own figure.
      expect(result.cpuMs!.transform).toBeGreaterThan(0);
      for (const model of result.models) expect(model.cpuMs, model.name).toBeGreaterThanOrEqual(0);
    }
  });

  it('finds exactly the violations the samples README lists', () => {
    for (const [hour, expected] of Object.entries(EXPECTED_ALERTS)) {
      const found = results[hour]!.alerts.map((a) => `${a.rule_id} ${a.src_ip} -> ${a.dst_ip}:${a.dst_port} flows=${a.flow_count}`);
      expect(found, hour).toEqual(expected);
    }
  });

  it('publishes exact row counts per table', () => {
    const rows = (hour: string) => Object.fromEntries(results[hour]!.tables.map((t) => [t.table, t.rows]));
    expect(rows('2024-05-01T13')).toEqual({ flows: 436, violations: 15, traffic_matrix: expect.any(Number), alerts: 4, quarantine: 0, late_records: 0 });
    expect(rows('2024-05-01T14')).toEqual({ flows: 421, violations: 1, traffic_matrix: expect.any(Number), alerts: 1, quarantine: 0, late_records: 0 });
  });

  it("reconciles: every record read is published, another hour's, a status record or quarantined", () => {
    const hour13 = results['2024-05-01T13']!.counts;
    expect(hour13).toEqual({
      objects: 48,
      objects_quarantined: 0,
      records_read: 708,
      flows_published: 436,
      other_hour: 270,
      late: 0,
      nodata: 1,
      skipdata: 1,
      quarantined: 0,
    });
    for (const result of Object.values(results)) {
      const c = result.counts;
      expect(c.records_read).toBe(c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined);
    }
  });

  it('serves the published tables to SQL, each flow once', async () => {
    const [counts] = await queryLake(lake, `SELECT count(*) AS flows, count(DISTINCT flow_id) AS ids, count(*) FILTER (WHERE verdict = 'non_conformant') AS bad FROM flows`);
    expect(counts).toEqual({ flows: 857n, ids: 857n, bad: 16n });
    const bySource = await queryLake(lake, `SELECT source_type, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1`);
    expect(bySource).toEqual([
      { source_type: 'agent', n: 614n },
      { source_type: 'aws_vpc', n: 243n },
    ]);
  });

  it('enriches both ends from the inventory and the ranges', async () => {
    const [ssh] = await queryLake(lake, `SELECT * FROM flows WHERE dst_port = 22 AND start_at < TIMESTAMP '2024-05-01 14:00:00'`);
    expect(ssh).toMatchObject({
      source_type: 'aws_vpc',
      src_ip: '185.220.101.45',
      dst_ip: '10.0.1.10',
      direction: 'ingress',
      action: 'accept',
      observer_vm_id: 'i-0web00000000001',
      dst_vm_id: 'i-0web00000000001',
      dst_vm_name: 'web-1',
      dst_segment: 'web',
      dst_tags: ['internal', 'vm', 'web'],
      dst_cidr: '10.0.1.0/24',
      src_is_public: true,
      src_segment: 'internet',
      verdict: 'non_conformant',
      violated_rule_ids: ['no-admin-ports-from-internet'],
    });
    expect(ssh!.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    const [datastore] = await queryLake(lake, `SELECT dst_cidr, dst_range_name, dst_tags, dst_segment FROM flows WHERE dst_ip = '10.0.4.50' LIMIT 1`);
    expect(datastore).toEqual({ dst_cidr: '10.0.4.0/24', dst_range_name: 'subnet-datastore', dst_tags: ['datastore'], dst_segment: 'data' });
    const [ipv6] = await queryLake(lake, `SELECT src_ip, dst_ip, dst_vm_name FROM flows WHERE dst_ip LIKE '%:%' LIMIT 1`);
    expect(ipv6).toEqual({ src_ip: '2a00:1450:4001:82b::200e', dst_ip: '2600:1f18:1234:5600::10', dst_vm_name: 'web-1' });
  });

  it('builds the hourly traffic matrix by segment and by tag', async () => {
    const rows = await queryLake(
      lake,
      `SELECT src_group, dst_group, flows FROM traffic_matrix WHERE dimension = 'segment' AND hour_at = TIMESTAMP '2024-05-01 13:00:00' AND src_group = 'app' AND dst_group = 'data'`,
    );
    // app → sql-1 (60 + 5 connections, each reported by both ends' agents, counted once) and
    // app-1 → the datastore (60): 125 connections of the 190 records.
    expect(rows).toEqual([{ src_group: 'app', dst_group: 'data', flows: 125n }]);
    const [records] = await queryLake(lake, `SELECT count(*) AS n FROM flows WHERE src_segment = 'app' AND dst_segment = 'data' AND start_at < TIMESTAMP '2024-05-01 14:00:00'`);
    expect(records).toEqual({ n: 190n });
  });

  it('records every run in the ledger with inputs, hashes and counts', async () => {
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    const entry = entries.find((e) => e.hour === '2024-05-01T13')!;
    expect(entry.status).toBe('published');
    expect(entry.inputs).toHaveLength(48);
    expect(entry.inputs[0]).toEqual({
      source_type: 'agent',
      key: expect.stringMatching(/^raw\/agent\/dt=2024-05-01\/hour=13\//),
      etag: expect.any(String),
      size: expect.any(Number),
      last_offset: expect.any(Number),
    });
    expect(entry.reference_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.rules_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.models.map((m) => m.name)).toEqual(expect.arrayContaining(['aws_vpc__records', 'agent__records', 'flows_enriched', 'rule_violations', 'flows', 'alerts']));
    expect(entry.outputs.find((o) => o.table === 'flows')).toMatchObject({ rows: 436, manifest_key: expect.stringMatching(/^curated\/flows\/_delta_log\/\d{20}\.json$/) });
  });

  it('publishes alerts as a Delta table of Parquet files under curated/alerts/dt=…/hour=…/', async () => {
    const alerts = await queryLake(lake, `SELECT rule_id, severity, flow_count, bytes FROM alerts WHERE hour_at = TIMESTAMP '2024-05-01 13:00:00' ORDER BY rule_id`);
    expect(alerts.map((a) => a.rule_id)).toEqual(['datastore-only-from-vms', 'known-endpoints-only', 'no-admin-ports-from-internet', 'sql-only-from-app-1']);
    // Five connections, each seen by both ends' agents: counted once, both observers named.
    const [sql] = await queryLake(lake, `SELECT flow_count, observation_count, bytes, observed_by FROM alerts WHERE rule_id = 'sql-only-from-app-1'`);
    expect(sql).toEqual({ flow_count: 5n, observation_count: 10n, bytes: 4500n, observed_by: ['agent:i-0app00000000002', 'agent:i-0sql00000000001'] });
    const keys: string[] = [];
    for await (const object of lake.store.list('curated/alerts/dt=2024-05-01/hour=13/')) keys.push(object.key);
    expect(keys).toEqual([expect.stringMatching(/^curated\/alerts\/dt=2024-05-01\/hour=13\/part-00000-[^/]+\.parquet$/)]);
    expect(await lake.store.head('curated/alerts/_delta_log/00000000000000000000.json')).toBeDefined();
  });

  it('reruns an hour to identical rows and one visible version, leaving no staging behind', async () => {
    const digest = () => queryLake(lake, `SELECT count(*) AS n, sum(hash(COLUMNS(*))) AS h FROM flows WHERE start_at < TIMESTAMP '2024-05-01 14:00:00'`);
    const before = await digest();
    const rerun = await lake.runHour('2024-05-01T13');
    expect(rerun.status).toBe('published');
    expect(rerun.runId).toBe(results['2024-05-01T13']!.runId);
    expect(await digest()).toEqual(before);
    const third = await lake.runHour('2024-05-01T13');
    const files: string[] = [];
    for await (const object of lake.store.list('curated/flows/dt=2024-05-01/hour=13/')) files.push(object.key);
    // The fixture's grace period is 0: the files each rerun's commit removed are deleted at once.
    expect(files).toEqual([`curated/flows/dt=2024-05-01/hour=13/part-00000-${third.attemptId}.parquet`]);
    const [{ n }] = (await queryLake(lake, `SELECT count(*) AS n FROM flows WHERE start_at < TIMESTAMP '2024-05-01 14:00:00'`)) as [{ n: bigint }];
    expect(n).toBe(436n);
    expect(await readdir(path.join(lake.dir, 'work', 'runs'))).toEqual([]);
  });
});
