import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { main } from '../../cli/main.ts';
import { createLakeFixture, SAMPLE_REFERENCE, type LakeFixture } from '../support/lake-fixture.ts';

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, env: {} });
  return { code, stdout, stderr };
}

describe('netflow rules check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-rules-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('explains a valid file, rule by rule, with its version and exceptions', async () => {
    const file = path.join(dir, 'rules.yaml');
    const text = await readFile(path.join(SAMPLE_REFERENCE, 'rules.yaml'), 'utf8');
    await writeFile(
      file,
      `${text}  - id: no-c2\n    kind: threat\n    severity: critical\n    side: dst\n    exceptions:\n      - { reason: "INC-42 sinkhole test", expires: "2024-05-01T13:30:00Z", from: { vm: i-0app00000000001 } }\n`,
    );
    const { code, stdout } = await cli(['rules', 'check', file], dir);
    expect(code).toBe(0);
    expect(stdout).toContain(`${file}: 6 rule(s), version 2024-05-01, sha256:`);
    expect(stdout).toContain('  no-admin-ports-from-internet [deny, high, owner security]: no traffic from the internet to anything (tcp; port 22, 3389; accepted flows only)');
    expect(stdout).toContain('  sql-only-from-app-1 [allow_only, high, owner data]: vm "i-0sql00000000001" may be reached only from vm "i-0app00000000001" (port 1433)');
    expect(stdout).toContain('  no-c2 [threat, critical]: no destination endpoint on any threat list');
    expect(stdout).toContain('    except from {"vm":"i-0app00000000001"} until 2024-05-01T13:30:00Z: INC-42 sinkhole test');
    expect(stdout).toMatch(/warning: rules\.5\.exceptions\.0: exception "INC-42 sinkhole test" of rule "no-c2" expired at 2024-05-01T13:30:00Z/);
  });

  it('reports every problem with its line and key', async () => {
    const file = path.join(dir, 'bad-rules.yaml');
    await writeFile(
      file,
      [
        'rules:', //                                   1
        '  - id: ssh', //                              2
        '    kind: deny', //                           3
        '    severity: urgent', //                     4
        '    from: { internet: true }', //             5
        '    to: { vm: web-1, tag: web }', //          6
        '    ports: [22, "3000-2000"]', //             7
        '  - id: ssh', //                              8
        '    kind: allow_only', //                     9
        '    severity: low', //                        10
        '    to: { cidr: 10.0.0.0/33 }', //            11
        '    from: []', //                             12
        '    exceptions:', //                          13
        '      - { reason: x, expires: tomorrow }', // 14
        '  - id: bad-threat', //                       15
        '    kind: threat', //                         16
        '    severity: high', //                       17
        '    lists: [not-configured]', //              18
      ].join('\n'),
    );
    const { code, stdout } = await cli(['rules', 'check', file], dir);
    expect(code).toBe(1);
    const lineNo = (text: string) => Number(/^line (\d+)/.exec(text)?.[1]);
    const lines = stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.replace(`${file}: `, '').trim())
      .sort((a, b) => lineNo(a) - lineNo(b));
    expect(lines).toEqual([
      'line 4: rules.0.severity: Invalid option: expected one of "low"|"medium"|"high"|"critical"',
      'line 6: rules.0.to: a selector has exactly one of: ip, cidr, vm, tag, segment, account, internet, any',
      'line 7: rules.0.ports.1: a port range goes from low to high, at most 65535',
      'line 11: rules.1.to: a selector has exactly one of: ip, cidr, vm, tag, segment, account, internet, any',
      'line 12: rules.1.from: Too small: expected array to have >=1 items',
      'line 14: rules.1.exceptions.0.expires: expected an ISO 8601 time such as "2024-05-01T11:30:00Z"',
    ]);
    // Once the shape is right, cross-file problems: duplicate ids and unknown threat lists.
    await writeFile(file, 'rules:\n  - { id: a, kind: require_known, severity: low }\n  - { id: a, kind: threat, severity: low, lists: [nope] }\n');
    const second = await cli(['rules', 'check', file], dir);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain('line 3: rules.1.id: duplicate rule id "a"');
    await writeFile(file, 'rules:\n  - { id: b, kind: allow-only, severity: low, to: { tag: db }, from: [{ tag: app }] }\n  - { id: c, kind: require-known, severity: low }\n');
    const aliases = await cli(['rules', 'check', file], dir);
    expect(aliases.code).toBe(0);
    expect(aliases.stdout).toContain('  b [allow_only, low]: tag "db" may be reached only from tag "app"');
    await writeFile(file, 'rules:\n  - { id: a, kind: threat, severity: low, lists: [nope] }\n');
    expect((await cli(['rules', 'check', file], dir)).stdout).toContain('rules.0.lists: rule "a" names threat list "nope", which is not configured (configured: none)');
  });
});

describe('netflow rules test --hour and netflow ref check over a lake', () => {
  let lake: LakeFixture;
  let configFile: string;
  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
    expect((await lake.runHour('2024-05-01T13')).status).toBe('published');
    configFile = path.join(lake.dir, 'netflow.config.yaml');
    await writeFile(
      configFile,
      stringify({
        store: { type: 'local', path: path.join(lake.dir, 'lake') },
        ledger: { path: lake.config.ledger.path },
        work_dir: lake.config.work_dir,
        reference: { ...lake.config.reference, threat_lists: [{ name: 'tor-exits', path: path.join(SAMPLE_REFERENCE, 'threat-lists', 'tor-exits.txt') }] },
        rules: lake.config.rules,
      }),
    );
  });
  afterAll(() => lake.cleanup());

  const keys = async () => {
    const found: string[] = [];
    for await (const object of lake.store.list('')) found.push(`${object.key} ${object.etag}`);
    return found.sort();
  };

  it('prints per-rule matched, breaching, excused and violating counts without publishing anything', async () => {
    const before = await keys();
    const { code, stdout, stderr } = await cli(['rules', 'test', '--hour', '2024-05-01T13', '--json', '--config', configFile], lake.dir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { flows: number; connections: number; rules: unknown[] };
    // Connections, as the alerts and the compliance report count them: the 10 records of app-2's
    // 5 connections to sql-1 (one per agent at each end) are 5, and each answer is its request's connection.
    expect([report.flows, report.connections]).toEqual([436, 370]);
    expect(report.rules).toEqual([
      { rule_id: 'no-admin-ports-from-internet', matched: 1, breaching: 1, excused: 0, violating: 1 },
      { rule_id: 'sql-only-from-app-1', matched: expect.any(Number), breaching: 5, excused: 0, violating: 5 },
      { rule_id: 'datastore-only-from-vms', matched: expect.any(Number), breaching: 3, excused: 0, violating: 3 },
      { rule_id: 'known-endpoints-only', matched: 370, breaching: 1, excused: 0, violating: 1 },
      { rule_id: 'azure-sql-only-from-az-app-1', matched: 0, breaching: 0, excused: 0, violating: 0 },
    ]);
    // A draft: the SQL server's exception for app-2 until 13:23 excuses part of its 5 connections.
    const draft = path.join(lake.dir, 'draft.yaml');
    const text = await readFile(path.join(SAMPLE_REFERENCE, 'rules.yaml'), 'utf8');
    await writeFile(
      draft,
      text.replace(
        '    from:\n      - { vm: i-0app00000000001 }',
        '    from:\n      - { vm: i-0app00000000001 }\n    exceptions:\n      - { reason: CHG-7 app-2 cut-over, expires: "2024-05-01T13:23:00Z", from: { vm: i-0app00000000002 } }',
      ),
    );
    const dry = await cli(['rules', 'test', '--hour', '2024-05-01T13', '--rules', draft, '--config', configFile], lake.dir);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^dry run of .*draft\.yaml \(sha256:[0-9a-f]{12}…\) over 436 published flow\(s\) \(370 connection\(s\)\) of 2024-05-01T13; nothing is published\n/);
    const sqlLine = dry.stdout.split('\n').find((line) => line.includes('sql-only-from-app-1'))!;
    const [, , breaching, excused, violating] = sqlLine.split('│').map((cell) => Number(cell.trim()));
    expect(breaching).toBe(5);
    expect(Number(excused) + Number(violating)).toBe(5);
    expect(Number(excused)).toBeGreaterThan(0);
    expect(Number(violating)).toBeGreaterThan(0);
    expect(await keys()).toEqual(before);
  });

  it('refuses an hour that is not published', async () => {
    const { code, stderr } = await cli(['rules', 'test', '--hour', '2024-05-01T09', '--config', configFile], lake.dir);
    expect(code).toBe(1);
    expect(stderr).toContain('no published flows for hour 2024-05-01T09');
  });

  it('ref check validates every configured file and names the file, line and field of each problem', async () => {
    const ok = await cli(['ref', 'check', '--config', configFile], lake.dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok +inventory .*inventory\.yaml\n +2024-05-01T00:00:00Z: 15 VM\(s\), 16 address\(es\)/);
    expect(ok.stdout).toMatch(/ok +threat_list .*tor-exits\.txt\n +tor-exits \(plain\): 2 entr\(ies\)/);
    const badInventory = path.join(lake.dir, 'inventory.csv');
    await writeFile(badInventory, 'vm_id,vm_name,account_id,segment,interface_id,private_ips\ni-1,a,acct,web,eni-1,10.0.0.1\ni-2,b,acct,web,eni-2,10.0.0.999\n');
    const badList = path.join(lake.dir, 'list.netset');
    await writeFile(badList, '# feed\n1.2.3.4\nnot-an-ip\n');
    const badConfig = path.join(lake.dir, 'bad.config.yaml');
    await writeFile(
      badConfig,
      stringify({
        store: { type: 'local', path: path.join(lake.dir, 'lake') },
        reference: {
          inventory: [lake.config.reference.inventory, badInventory],
          ip_ranges: [{ path: path.join(SAMPLE_REFERENCE, 'providers', 'aws-ip-ranges.sample.json'), format: 'aws' }],
          threat_lists: [{ name: 'feed', path: badList, format: 'netset' }],
        },
        rules: lake.config.rules,
      }),
    );
    const bad = await cli(['ref', 'check', '--config', badConfig], lake.dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`${badInventory}: line 3: private_ips: expected an IPv4 or IPv6 address`);
    expect(bad.stdout).toContain(`${badList}: line 3: "not-an-ip" is not an IP address or CIDR`);
    expect(bad.stdout).toMatch(/ok +ip_ranges .*aws-ip-ranges\.sample\.json\n +aws: 8 range\(s\) \(6 IPv4, 2 IPv6\)/);
  });

  it('ref check warns about rules naming a VM or tag that no reference file has (a typo never matches)', async () => {
    const rules = path.join(lake.dir, 'typo-rules.yaml');
    await writeFile(rules, 'rules:\n  - { id: typo, kind: allow_only, severity: high, to: { vm: i-0sql0000000001 }, from: [{ tag: vm }, { tag: wm }] }\n');
    const config = path.join(lake.dir, 'typo.config.yaml');
    await writeFile(config, stringify({ store: { type: 'local', path: path.join(lake.dir, 'lake') }, reference: lake.config.reference, rules }));
    const { code, stdout } = await cli(['ref', 'check', '--config', config], lake.dir);
    expect(code).toBe(0);
    expect(stdout).toContain('warning: rules.0.to: rule "typo" names vm "i-0sql0000000001", which no inventory snapshot has');
    expect(stdout).toContain('warning: rules.0.from.1: rule "typo" names tag "wm", which no inventory snapshot or range has');
    expect(stdout).not.toContain('tag "vm"');
  });
});
