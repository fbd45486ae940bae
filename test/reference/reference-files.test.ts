import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ValidationError } from '../../lib/config/yaml-file.ts';
import { inventoryEpochs, loadInventoryHistory, readInventoryFile } from '../../lib/reference/load-inventory.ts';
import { readRangeFile } from '../../lib/reference/load-ip-ranges.ts';
import { readThreatList } from '../../lib/reference/load-threat-lists.ts';
import { parseCsvText } from '../../lib/reference/csv-text.ts';
import { SAMPLE_REFERENCE } from '../support/lake-fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-ref-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, text);
  return target;
}

async function problemsOf(work: Promise<unknown>): Promise<string[]> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a ValidationError').toBeInstanceOf(ValidationError);
  return (error as ValidationError).problems;
}

describe('inventory snapshots from CSV, JSON and YAML', () => {
  it('reads the same snapshots from the three formats', async () => {
    const fromCsv = await readInventoryFile(path.join(SAMPLE_REFERENCE, 'inventory-snapshots.csv'));
    expect(fromCsv.map((s) => [s.snapshot_at, s.vms.map((vm) => vm.vm_id)])).toEqual([
      ['2024-05-01T00:00:00Z', ['i-0web00000000001', 'i-0app00000000001']],
      ['2024-05-02T00:00:00Z', ['i-0web00000000001', 'i-0app00000000009']],
    ]);
    expect(fromCsv[0]!.vms[0]).toEqual({
      vm_id: 'i-0web00000000001',
      vm_name: 'web-1',
      account_id: '123456789012',
      region: 'us-east-1',
      sku: 'm5.large',
      capacity_mbps: 10000,
      owner_team: 'storefront',
      segment: 'web',
      tags: ['vm', 'web'],
      interfaces: [{ interface_id: 'eni-0web1000000000001', mac: '0a:1b:2c:00:01:01', private_ips: ['10.0.1.10', '2600:1f18:1234:5600::10'] }],
    });
    const yamlFile = await file('inventory.yaml', stringify({ snapshots: fromCsv }));
    const jsonFile = await file('inventory.json', JSON.stringify({ snapshots: fromCsv }));
    expect(await readInventoryFile(yamlFile)).toEqual(fromCsv);
    expect(await readInventoryFile(jsonFile)).toEqual(fromCsv);
    // A single snapshot per file also works, and files combine into one history.
    const single = await file('one.json', JSON.stringify(fromCsv[1]));
    const history = await loadInventoryHistory([single, await file('zero.yaml', stringify(fromCsv[0]))]);
    expect(inventoryEpochs(history).map((e) => [e.epoch, e.validFrom.toISOString(), e.validTo.toISOString()])).toEqual([
      [0, '0001-01-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z'],
      [1, '2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z'],
      [2, '2024-05-02T00:00:00.000Z', '9999-12-31T00:00:00.000Z'],
    ]);
  });

  it('names the line and the column of every CSV problem', async () => {
    const csv = await file(
      'bad.csv',
      [
        'snapshot_at,vm_id,vm_name,account_id,segment,tags,interface_id,private_ips,capacity_mbps',
        '2024-05-01T00:00:00Z,i-1,web-1,acct,web,vm,eni-1,10.0.0.1,100',
        '2024-05-01T00:00:00Z,i-2,web-2,acct,web,vm,eni-2,10.0.0.300,fast',
        '2024-05-01T00:00:00Z,i-3,web-3,acct,,vm,eni-3,10.0.0.3,100',
        'not-a-time,i-4,web-4,acct,web,vm,eni-4,10.0.0.4,100',
        '2024-05-02T00:00:00Z,i-5,web-5,acct,web,vm,eni-5,10.0.0.5,100',
        '2024-05-02T00:00:00Z,i-6,web-6,acct,web,vm,eni-6,10.0.0.5,100',
      ].join('\n'),
    );
    expect(await problemsOf(readInventoryFile(csv))).toEqual([
      'line 3: capacity_mbps: Invalid input: expected number, received string',
      'line 3: private_ips: expected an IPv4 or IPv6 address',
      'line 4: segment: Invalid input: expected string, received undefined',
      'line 5: snapshot_at: expected an ISO 8601 time such as "2024-05-01T00:00:00Z"',
      'line 7: private_ips: address 10.0.0.5 is already assigned to VM "i-5" in this snapshot',
    ]);
    expect(await problemsOf(readInventoryFile(await file('cols.csv', 'vm_id,vm_name,colour\ni-1,a,red\n')))).toEqual([
      'line 1: header is missing column(s): account_id, segment, interface_id, private_ips',
      'line 1: unknown column(s): colour (known: snapshot_at, vm_id, vm_name, account_id, region, sku, capacity_mbps, owner_team, segment, tags, interface_id, mac, private_ips)',
    ]);
  });

  it('names the line and key path of YAML and JSON problems', async () => {
    const yaml = await file(
      'bad.yaml',
      [
        'snapshot_at: "2024-05-01T00:00:00Z"',
        'vms:',
        '  - vm_id: i-1',
        '    vm_name: a',
        '    account_id: acct',
        '    segment: web',
        '    interfaces:',
        '      - { interface_id: eni-1, private_ips: [10.0.0.1], mac: nonsense }',
      ].join('\n'),
    );
    expect(await problemsOf(readInventoryFile(yaml))).toEqual(['line 8: vms.0.interfaces.0.mac: expected a MAC address']);
    const json = await file('bad.json', '{\n  "snapshots": [\n    { "snapshot_at": "2024-05-01T00:00:00Z",\n      "vms": [ { "vm_id": "i-1" } ] }\n  ]\n}\n');
    const problems = await problemsOf(readInventoryFile(json));
    expect(problems[0]).toMatch(/^line 4: snapshots\.0\.vms\.0\.vm_name: /);
  });

  it('refuses two snapshots of the same time and undated snapshots among dated ones', async () => {
    const a = await file('a.yaml', 'snapshot_at: "2024-05-01T00:00:00Z"\nvms: []\n');
    const b = await file('b.yaml', 'snapshot_at: "2024-05-01T00:00:00+00:00"\nvms: []\n');
    const undated = await file('c.yaml', 'vms: []\n');
    expect((await problemsOf(loadInventoryHistory([a, b])))[0]).toMatch(/two snapshots taken at/);
    expect(await problemsOf(loadInventoryHistory([a, undated]))).toEqual(['snapshot_at: every snapshot needs a time when there are several']);
  });
});

describe("IP ranges from YAML, CSV and the providers' published files", () => {
  it('imports AWS ip-ranges.json, one range per prefix with every service as a tag', async () => {
    const { format, ranges } = await readRangeFile({ path: path.join(SAMPLE_REFERENCE, 'providers', 'aws-ip-ranges.sample.json') });
    expect(format).toBe('aws');
    expect(ranges).toHaveLength(8);
    expect(ranges.find((r) => r.cidr === '52.216.0.0/15')).toEqual({
      cidr: '52.216.0.0/15',
      name: 'aws-s3-us-east-1',
      tags: ['aws', 'region:us-east-1', 'service:amazon', 'service:s3'],
      segment: 'aws-services',
    });
    expect(ranges.find((r) => r.cidr === '15.230.56.104/31')!.name).toBe('aws-amazon-us-east-1');
    expect(ranges.find((r) => r.cidr === '2a05:d018::/36')).toMatchObject({ name: 'aws-s3-eu-west-1', tags: ['aws', 'region:eu-west-1', 'service:s3'] });
  });

  it('imports Azure Service Tags, naming a prefix after its most specific tag', async () => {
    const { format, ranges } = await readRangeFile({ path: path.join(SAMPLE_REFERENCE, 'providers', 'azure-service-tags.sample.json'), segment: 'azure', tags: ['cloud'] });
    expect(format).toBe('azure');
    expect(ranges.find((r) => r.cidr === '20.50.0.0/18')).toEqual({
      cidr: '20.50.0.0/18',
      name: 'azure-storage-westeurope',
      segment: 'azure',
      tags: ['azure', 'cloud', 'region:westeurope', 'servicetag:azurecloud.westeurope', 'servicetag:storage', 'servicetag:storage.westeurope'],
    });
    expect(ranges.find((r) => r.cidr === '20.60.0.0/24')!.name).toBe('azure-storage');
    expect(ranges.find((r) => r.cidr === '13.69.0.0/17')!.name).toBe('azure-azurecloud-westeurope');
    expect(
      ranges
        .filter((r) => r.cidr.includes(':'))
        .map((r) => r.cidr)
        .sort(),
    ).toEqual(['2603:1020:206::/48', '2a01:111:f100:2000::/52']);
  });

  it('reads CSV ranges and reports bad rows with line and column', async () => {
    const good = await file('ranges.csv', 'cidr,name,tags,segment\n10.0.0.0/16,vpc,internal;vm,core\n"2600:1f18::/36",v6,,\n');
    expect((await readRangeFile({ path: good })).ranges).toEqual([
      { cidr: '10.0.0.0/16', name: 'vpc', tags: ['internal', 'vm'], segment: 'core' },
      { cidr: '2600:1f18::/36', name: 'v6', tags: [] },
    ]);
    const bad = await file('bad-ranges.csv', 'cidr,name\n10.0.0.0/33,too-long\n10.0.0.0/8\n,empty\n');
    expect(await problemsOf(readRangeFile({ path: bad }))).toEqual([
      'line 2: cidr: expected a CIDR such as 10.0.0.0/16 or 2600:1f18::/36, or an address',
      'line 3: expected 2 fields, found 1',
      'line 4: cidr: expected a CIDR such as 10.0.0.0/16 or 2600:1f18::/36, or an address',
    ]);
  });

  it('reports a provider file of the wrong shape with the line of the bad prefix', async () => {
    const aws = await file('aws.json', '{\n "syncToken": "1",\n "prefixes": [\n  { "ip_prefix": "52.216.0.0/35", "region": "us-east-1", "service": "S3" }\n ]\n}\n');
    expect(await problemsOf(readRangeFile({ path: aws }))).toEqual(['line 4: prefixes.0.ip_prefix: expected an IPv4 CIDR']);
  });
});

describe('threat lists', () => {
  it('reads plain lists, FireHOL netsets and a chosen CSV column', async () => {
    expect(await readThreatList({ name: 'tor', path: path.join(SAMPLE_REFERENCE, 'threat-lists', 'tor-exits.txt'), format: 'plain', delimiter: ',' })).toEqual([
      { list: 'tor', cidr: '185.220.101.45' },
      { list: 'tor', cidr: '45.95.147.10' },
    ]);
    const netset = await readThreatList({ name: 'firehol_level1', path: path.join(SAMPLE_REFERENCE, 'threat-lists', 'firehol_level1.netset'), format: 'netset', delimiter: ',' });
    expect(netset.map((e) => e.cidr)).toEqual(['0.0.0.0/8', '185.220.100.0/22', '192.0.2.0/24', '203.0.113.0/24']);
    const csv = await readThreatList({ name: 'c2', path: path.join(SAMPLE_REFERENCE, 'threat-lists', 'c2-indicators.csv'), format: 'csv', column: 'indicator', delimiter: ',' });
    expect(csv).toEqual([
      { list: 'c2', cidr: '198.51.100.23' },
      { list: 'c2', cidr: '2001:db8:bad::/48' },
    ]);
  });

  it('refuses entries that are not addresses, with their line', async () => {
    const bad = await file('bad.netset', '# header\n1.2.3.4\nexample.com\n\n10.0.0.0/40 ; comment\n');
    expect(await problemsOf(readThreatList({ name: 'x', path: bad, format: 'netset', delimiter: ',' }))).toEqual([
      'line 3: "example.com" is not an IP address or CIDR',
      'line 5: "10.0.0.0/40" is not an IP address or CIDR',
    ]);
    const csv = await file('bad.csv', 'ip,score\n1.2.3.4,1\n');
    expect(await problemsOf(readThreatList({ name: 'x', path: csv, format: 'csv', column: 'address', delimiter: ',' }))).toEqual(['line 1: no column "address" in the header (columns: ip, score)']);
  });
});

describe('CSV reader', () => {
  it.each([
    ['quoted delimiters, doubled quotes and CRLF', 'a,b\r\n"x,1","say ""hi"""\r\n', [['x,1', 'say "hi"']]],
    [
      "a quoted field across lines keeps the record's first line",
      'a,b\n"multi\nline",2\n3,4\n',
      [
        ['multi\nline', '2'],
        ['3', '4'],
      ],
    ],
    ['a BOM and blank lines', '\uFEFFa,b\n\n1,2\n', [['1', '2']]],
  ])('%s', (_case, text, expected) => {
    const table = parseCsvText(text);
    expect(table.header).toEqual(['a', 'b']);
    expect(table.records.map((r) => r.fields)).toEqual(expected);
  });

  it('gives each record its starting line and names an unterminated quote', () => {
    expect(parseCsvText('a,b\n"multi\nline",2\n3,4\n').records.map((r) => r.line)).toEqual([2, 4]);
    expect(() => parseCsvText('a,b\n1,"open\n')).toThrow('line 2: a quoted field is never closed');
  });
});
