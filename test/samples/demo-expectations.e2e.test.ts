import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { SAMPLES_DIR, SAMPLE_HOURS } from '../../cli/commands/demo-command.ts';
import type { SourceFindings } from '../../cli/source-findings.ts';
import type { ComplianceReport } from '../../lib/reports/compliance-report.ts';
import { markdownTableAfter } from '../support/markdown-table.ts';

interface DemoJson {
  hours: { hour: string; status: string; counts: Record<string, number>; tables: { table: string; rows: number }[]; alerts: number }[];
  sources: SourceFindings[];
}

// Every figure data/samples/README.md promises the demo finds, read from the README itself.
describe('netflow demo finds what data/samples/README.md lists', { timeout: 300_000 }, () => {
  let cwd: string;
  let readme: string;
  let demo: DemoJson;
  let code: number;
  let stderr = '';

  const netflow = async (args: string[]) => {
    let stdout = '';
    const exit = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd, env: { NETFLOW_CONFIG: '' } });
    return { code: exit, stdout };
  };
  const number = (text: string) => {
    expect(text, 'a figure of the README').toMatch(/^\d+$/);
    return Number(text);
  };

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-demo-'));
    readme = await readFile(path.join(SAMPLES_DIR, 'README.md'), 'utf8');
    const run = await netflow(['demo', '--json']);
    code = run.code;
    demo = JSON.parse(run.stdout) as DemoJson;
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  it('publishes every hour of every source', () => {
    expect(code, stderr).toBe(0);
    expect(demo.hours.map((hour) => `${hour.hour} ${hour.status}`)).toEqual(SAMPLE_HOURS.map((hour) => `${hour} published`));
    expect(demo.sources.map((row) => row.source)).toEqual(['aws_vpc', 'azure_nsg', 'azure_vnet', 'gcp_vpc', 'oci_vcn', 'agent', 'total']);
  });

  it('per source: objects, records read, flows published, other hours, NODATA/SKIPDATA, quarantined, violations, alerts', () => {
    const expected = markdownTableAfter(readme, 'Per source');
    expect(expected.map((row) => row.source)).toEqual(demo.sources.map((row) => row.source));
    for (const row of expected) {
      const found = demo.sources.find((source) => source.source === row.source)!;
      expect(
        {
          objects: found.objects,
          records_read: found.records_read,
          flows_published: found.flows_published,
          other_hours: found.other_hours,
          nodata_skipdata: found.nodata_skipdata,
          quarantined: found.quarantined,
          violations: found.violations,
          alerts: found.alerts,
        },
        row.source,
      ).toEqual({
        objects: number(row.objects!),
        records_read: number(row['records read']!),
        flows_published: number(row['flows published']!),
        other_hours: number(row['other hours']!),
        nodata_skipdata: number(row['NODATA / SKIPDATA']!),
        quarantined: number(row.quarantined!),
        violations: number(row.violations!),
        alerts: number(row.alerts!),
      });
      expect(found.objects_quarantined, row.source).toBe(0);
      expect(found.records_read, `${row.source} reconciles`).toBe(found.flows_published + found.other_hours + found.nodata_skipdata + found.quarantined);
    }
  });

  it('per hour: rows of every table and the reconciliation of what was read', () => {
    const expected = markdownTableAfter(readme, 'Per hour');
    expect(expected.map((row) => row.hour)).toEqual(SAMPLE_HOURS);
    for (const row of expected) {
      const hour = demo.hours.find((h) => h.hour === row.hour)!;
      const rows = Object.fromEntries(hour.tables.map((table) => [table.table, table.rows]));
      expect({ ...rows, traffic_matrix: undefined }, row.hour).toEqual({
        flows: number(row.flows!),
        violations: number(row.violations!),
        alerts: number(row.alerts!),
        quarantine: number(row.quarantine!),
        late_records: number(row.late_records!),
        traffic_matrix: undefined,
      });
      expect(hour.counts, row.hour).toMatchObject({
        records_read: number(row['records read']!),
        flows_published: number(row.flows!),
        other_hour: number(row['other hours']!),
        nodata: number(row.NODATA!),
        skipdata: number(row.SKIPDATA!),
        quarantined: number(row.quarantine!),
      });
    }
  });

  it('the alerts: rule, addresses, connections counted once, bytes, records and observers', async () => {
    const expected = markdownTableAfter(readme, 'Alerts').map((row) => {
      const [, src, dst, port] = /^(\S+) → (\S+):(\d+)$/.exec(row['source → destination']!) ?? [];
      return `${row.hour} ${row.rule} ${src} -> ${dst}:${port} connections=${row.connections} bytes=${row.bytes} records=${row.records} seen by ${row['seen by']}`;
    });
    const query = await netflow([
      'query',
      'SELECT hour_at, rule_id, src_ip, dst_ip, dst_port, flow_count, bytes, observation_count, observed_by FROM alerts ORDER BY hour_at, rule_id',
      '--format',
      'json',
    ]);
    expect(query.code).toBe(0);
    const found = query.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string | number | string[]>)
      .map(
        (a) =>
          `${String(a.hour_at).slice(0, 13).replace(' ', 'T')} ${String(a.rule_id)} ${String(a.src_ip)} -> ${String(a.dst_ip)}:${String(a.dst_port)} connections=${String(a.flow_count)} bytes=${String(a.bytes)} records=${String(a.observation_count)} seen by ${(a.observed_by as string[]).join(', ')}`,
      );
    expect(found.sort()).toEqual(expected.sort());
  });

  it("the compliance report counts each rule's violating connections as the alerts do, and what az-sql-1 answers inside its NSG tuples", async () => {
    const run = await netflow(['report', 'compliance', '--from', '2024-05-02T13', '--to', '2024-05-02T13', '--format', 'json', '--out', path.join(cwd, 'out')]);
    expect(run.code, stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(cwd, 'out', 'compliance-2024-05-02T13.json'), 'utf8')) as ComplianceReport;
    const connections = (hour: string, rule: string) =>
      markdownTableAfter(readme, 'Alerts')
        .filter((row) => row.hour === hour && row.rule === rule)
        .reduce((sum, row) => sum + number(row.connections!), 0);
    for (const rule of report.rules) expect(rule.violating, rule.rule_id).toBe(connections('2024-05-02T13', rule.rule_id));
    // The five sessions' answers (3600 bytes each, in the tuples' reverse_bytes): az-sql-1 sends them.
    const sql = report.network.top_talkers.find((talker) => talker.src_ip === '10.1.3.4');
    expect(sql?.bytes).toBeGreaterThanOrEqual(5 * 3600);
  });
});
