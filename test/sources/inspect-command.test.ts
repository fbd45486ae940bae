import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, type CliContext } from '../../cli/cli-context.ts';
import { inspectCommand, inspectCommandDefinition } from '../../cli/commands/inspect-command.ts';
import { detectSources } from '../../lib/sources/detect-source.ts';
import { configSchema } from '../../schemas/config.ts';
import { flowsTable } from '../../schemas/tables/flows.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';
import { netflow } from '../support/run-netflow.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

describe('netflow inspect', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-inspect-'));
    await writeFile(
      path.join(cwd, 'mixed.log'),
      [
        'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
        '2 123456789012 eni-0a1b2c3d 10.0.1.10 10.0.2.20 40000 443 6 10 5000 1714568410 1714568470 ACCEPT OK',
        '2 123456789012 eni-0a1b2c3d 10.0.1.10 10.0.2.20 40000 70000 6 10 5000 1714568410 1714568470 ACCEPT OK',
        '2 123456789012 eni-0a1b2c3d - - - - - - - 1714568410 1714568470 - NODATA',
      ].join('\n'),
    );
    await writeFile(path.join(cwd, 'cut.json.gz'), gzipSync('{"records": [1, 2, 3]}').subarray(0, 12));
    await writeFile(path.join(cwd, 'notes.txt'), 'hello world\n');
    // A custom format may start with any field; a CloudWatch Logs export puts the event's time first.
    await writeFile(
      path.join(cwd, 'srcport-first.log'),
      'srcport dstport srcaddr dstaddr protocol packets bytes start end action log-status\n443 49152 10.0.0.1 10.0.0.2 6 1 40 1714568431 1714568431 ACCEPT OK\n',
    );
    await writeFile(path.join(cwd, 'cloudwatch-export.log'), '2024-05-01T13:00:31.000Z 2 123456789012 eni-0a1b2c3d 10.0.1.10 10.0.2.20 49201 8080 6 3 300 1714568431 1714568431 ACCEPT OK\n');
    await writeFile(path.join(cwd, 'hyphens.txt'), 'well-known co-operative\n');
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  it('detects the source, prints flows as NDJSON with the flows column names, and a summary with reasons on stderr', async () => {
    const result = await netflow(cwd, ['inspect', 'mixed.log']);
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    const names = flowsTable.columns.map((column) => column.name) as string[];
    expect(Object.keys(rows[0]!).every((key) => names.includes(key))).toBe(true);
    expect(rows[0]).toMatchObject({ source_type: 'aws_vpc', src_ip: '10.0.1.10', dst_port: 443, raw_object_key: 'mixed.log', raw_offset: 2, community_id: expect.stringMatching(/^1:/) });
    expect(result.stderr).toBe(
      ['file: mixed.log', 'source: aws-vpc (detected)', 'records read: 3', 'flows: 1', 'nodata: 1  skipdata: 0', 'quarantined: 1', '  at 3: dstport: "70000" is not a port (0-65535)', ''].join('\n'),
    );
  });

  it('detects the source of every fixture, and only one', async () => {
    const expected: [string, string][] = [
      ['aws-vpc/v2-default-documented.log', 'aws_vpc'],
      ['aws-vpc/v5-custom-order.log.gz', 'aws_vpc'],
      ['aws-vpc/v5-parquet-delivery.log.parquet', 'aws_vpc'],
      ['aws-vpc/headerless-firehose.log', 'aws_vpc'],
      ['aws-vpc/v6-transit-gateway.log', 'aws_vpc'],
      ['azure-nsg/v1-documented-tuples.json', 'azure_nsg'],
      ['azure-nsg/v2-documented-example.json', 'azure_nsg'],
      ['azure-vnet/v4-documented-example.json', 'azure_vnet'],
      ['gcp-vpc/src-and-dest-reports.json', 'gcp_vpc'],
      ['oci-vcn/connector-hub-batch.log', 'oci_vcn'],
      ['agent/spool-segment.ndjson.gz', 'agent'],
    ];
    for (const [file, source] of expected) expect(await detectSources(path.join(FIXTURES, file)), file).toEqual([source]);
    expect(await detectSources(path.join(cwd, 'notes.txt'))).toEqual([]);
    expect(await detectSources(path.join(cwd, 'hyphens.txt'))).toEqual([]);
    expect(await detectSources(path.join(cwd, 'srcport-first.log'))).toEqual(['aws_vpc']);
    expect(await detectSources(path.join(cwd, 'cloudwatch-export.log'))).toEqual(['aws_vpc']);
  });

  it('takes --source when the content cannot tell, and exits 1 for a file that cannot be read', async () => {
    const cut = await netflow(cwd, ['inspect', 'cut.json.gz', '--source', 'azure-nsg']);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toBe('');
    expect(cut.stderr).toMatch(/source: azure-nsg \(as requested\)[\s\S]*quarantined: 0 \(the whole file\)\n {2}file: object cannot be read: gzip stream is corrupt or truncated/);
  });

  it('refuses what it cannot do as bad usage (exit 2): a source it cannot tell, an unknown --source, a missing file', async () => {
    const context = { config: configSchema.parse({}), stdout: () => {}, stderr: () => {} } as unknown as CliContext;
    const inspect = (file: string | undefined, source?: string) => inspectCommand(context, file ? path.join(cwd, file) : undefined, source ? { source } : {});
    await expect(inspect('notes.txt')).rejects.toThrow(
      new UsageError(`cannot tell the source of ${path.join(cwd, 'notes.txt')}: no source matches its content; pass --source aws-vpc|azure-nsg|azure-vnet|gcp-vpc|oci-vcn|agent`),
    );
    await expect(inspect('mixed.log', 'netflow-v9')).rejects.toThrow(/--source must be auto or one of aws-vpc, azure-nsg/);
    await expect(inspect('missing.log')).rejects.toThrow(/cannot read .*missing\.log: ENOENT/);
    await expect(inspect(undefined)).rejects.toThrow(UsageError);
    expect(inspectCommandDefinition.help).toMatch(/^netflow inspect <file> \[--source auto\|aws-vpc\|azure-nsg\|azure-vnet\|gcp-vpc\|oci-vcn\|agent\]/);
  });
});
