import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { netflow } from '../support/run-netflow.ts';

// Each case spawns the real executable several times: generous timeouts for a loaded machine.
describe('the netflow command', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-cli-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  // The executable is spawned once for its help; each command's help and the usage errors come
  // from the same main() in this process (a spawn costs seconds of module loading on this machine).
  it('documents every command', async () => {
    const spawned = await netflow(cwd, ['--help']);
    expect(spawned.code).toBe(0);
    for (const command of ['run', 'demo', 'query', 'runs', 'config']) {
      expect(spawned.stdout).toContain(`  ${command}`);
      const help = await inProcess([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^netflow ${command}`));
    }
  });

  it('exits 2 on bad usage', async () => {
    expect((await netflow(cwd, ['frobnicate'])).code).toBe(2);
    expect((await inProcess(['run', '--hour', '2024-13-01T25'])).stderr).toContain('--hour must be a UTC hour such as 2024-05-01T13');
    expect((await inProcess(['run', '--bogus'])).code).toBe(2);
  });

  async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd, env: { NETFLOW_CONFIG: '' } });
    return { code, stdout, stderr };
  }

  it('fails on a bad configuration before doing any work, naming the key', async () => {
    await writeFile(path.join(cwd, 'bad.yaml'), 'store:\n  type: local\nlateness: tomorrow\nsources:\n  agent: { prefix: raw/agent/, enabld: true }\n');
    const result = await netflow(cwd, ['run', '--hour', '2024-05-01T13', '--config', 'bad.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('line 3: lateness: expected a duration');
    expect(result.stderr).toContain('line 5: sources.agent: Unrecognized key: "enabld"');
    expect(await readdir(cwd)).toEqual(['bad.yaml']);
  });

  it('runs the demo on the embedded default, then answers SQL over what it published', async () => {
    const demo = await netflow(cwd, ['demo']);
    expect(demo.stderr).not.toContain('"level":"error"');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain('hour 2024-05-01T13  PUBLISHED');
    expect(demo.stdout).toContain('hour 2024-05-01T14  PUBLISHED');
    expect(demo.stdout).toContain('hour 2024-05-02T13  PUBLISHED');
    expect(demo.stdout).toMatch(/no-admin-ports-from-internet\s+185\.220\.101\.45 -> 10\.0\.1\.10:22/);
    expect(demo.stdout).toMatch(/azure-sql-only-from-az-app-1\s+10\.1\.2\.5 -> 10\.1\.3\.4:1433 .*seen by azure_nsg:NSG-SQL\/000D3A2B3001/);
    // The per-source summary: one row per source, then the total (figures: data/samples/README.md, test/samples/demo-expectations.e2e.test.ts).
    const summary = demo.stdout.slice(demo.stdout.indexOf('read and found, per source'));
    expect(summary.split('\n')[1]).toMatch(/^source +│ objects +│ objects_quarantined +│ records_read +│ flows_published +│ other_hours +│ nodata_skipdata +│ quarantined +│ violations +│ alerts/);
    expect(
      summary
        .split('\n')
        .slice(3, 10)
        .map((line) => line.split(' ')[0]),
    ).toEqual(['aws_vpc', 'azure_nsg', 'azure_vnet', 'gcp_vpc', 'oci_vcn', 'agent', 'total']);
    expect((await readdir(cwd)).sort()).toEqual(['.netflow', 'bad.yaml', 'lake']);

    const query = await netflow(cwd, ['query', "SELECT dst_port, count(*) AS flows FROM flows WHERE dst_port IN (22, 1433) AND dt = '2024-05-01' GROUP BY 1 ORDER BY 1", '--format', 'csv']);
    expect(query.code).toBe(0);
    expect(query.stdout).toBe('dst_port,flows\n22,2\n1433,250\n');
    const json = await netflow(cwd, ['query', 'SELECT rule_id, flow_count FROM alerts ORDER BY rule_id, flow_count', '--format', 'json']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { rule_id: 'azure-sql-only-from-az-app-1', flow_count: 5 },
      { rule_id: 'datastore-only-from-vms', flow_count: 3 },
      { rule_id: 'datastore-only-from-vms', flow_count: 5 },
      { rule_id: 'known-endpoints-only', flow_count: 1 },
      { rule_id: 'no-admin-ports-from-internet', flow_count: 1 },
      { rule_id: 'no-admin-ports-from-internet', flow_count: 1 },
      { rule_id: 'no-admin-ports-from-internet', flow_count: 1 },
      { rule_id: 'sql-only-from-app-1', flow_count: 5 },
    ]);
    const table = await netflow(cwd, ['query', 'SELECT count(*) AS n FROM quarantine']);
    expect(table.stdout).toBe('n\n─\n0\n(1 row)\n');
    const bad = await netflow(cwd, ['query', 'SELECT * FROM no_such_table']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no_such_table');
    const runs = await netflow(cwd, ['runs']);
    expect(runs.stdout).toMatch(/2024-05-01T13 │ published/);
    const rerun = await netflow(cwd, ['run', '--hour', '2024-05-01T14']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('records read 481 = flows published 421 + other hours 60');
  });
});
