import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeFiles, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { configSchema } from '../../schemas/config.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'aws-vpc');
const FORMAT = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path';

describe('AWS VPC Flow Logs: every version, any field order, text and Parquet', () => {
  let dir: string;
  const r: Record<string, NormalizeFileResult> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-aws-'));
    // A CloudWatch Logs export: each record after an ISO timestamp, no header (the configured format applies).
    await writeFile(
      path.join(dir, 'cloudwatch-export.log'),
      [
        '2024-05-01T13:00:31.000Z 5 123456789012 eni-0a1b2c3d4e5f6a7b8 10.0.1.10 10.0.2.20 49201 8080 6 3 300 1714568431 1714568431 ACCEPT OK egress 1',
        // One field short of the configured format: an error, never a misparse.
        '2024-05-01T13:00:32.000Z 5 123456789012 eni-0a1b2c3d4e5f6a7b8 10.0.1.10 10.0.2.20 49202 8080 6 3 300 1714568432 1714568432 ACCEPT OK egress',
      ].join('\n'),
    );
    // A header that names a field no version defines.
    await writeFile(
      path.join(dir, 'unknown-field.log'),
      'version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status colour\n2 10.0.0.1 10.0.0.2 1 2 6 1 1 1714568431 1714568431 ACCEPT OK blue\n',
    );
    const files = [
      'v2-default-documented.log',
      'v3-tcp-flags-custom-order.log',
      'v5-custom-order.log.gz',
      'v6-transit-gateway.log',
      'v8-reject-reason-ecs.log',
      'headerless-firehose.log',
      'v5-parquet-delivery.log.parquet',
    ].map((name) => ({ file: path.join(FIXTURES, name), sourceType: 'aws_vpc' as const, objectKey: name }));
    // Transit Gateway flow logs in AWS's Parquet delivery: underscore column names, Parquet types.
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    await connection.run(`COPY (SELECT 6 AS version, 'TransitGateway' AS resource_type, '123456789012' AS account_id, 'tgw-0a1b' AS tgw_id,
        'tgw-attach-0a1b' AS tgw_attachment_id, 'vpc-0a1b' AS tgw_src_vpc_id, '10.1.0.10' AS srcaddr, '10.2.0.20' AS dstaddr, 49152 AS srcport,
        443 AS dstport, 6 AS protocol, 12::BIGINT AS packets, 4200::BIGINT AS bytes, 1714568410::BIGINT AS "start", 1714568470::BIGINT AS "end",
        'OK' AS log_status, 5::BIGINT AS packets_lost_blackhole)
      TO '${path.join(dir, 'tgw.log.parquet')}' (FORMAT parquet, COMPRESSION gzip)`);
    connection.closeSync();
    db.closeSync();
    files.push({ file: path.join(dir, 'tgw.log.parquet'), sourceType: 'aws_vpc', objectKey: 'tgw.log.parquet' });
    files.push({ file: path.join(dir, 'cloudwatch-export.log'), sourceType: 'aws_vpc', objectKey: 'cloudwatch-export.log' });
    files.push({ file: path.join(dir, 'unknown-field.log'), sourceType: 'aws_vpc', objectKey: 'unknown-field.log' });
    for (const result of await normalizeFiles(files, { awsVpcFormat: FORMAT, collectRows: true, threads: 2 })) r[result.objectKey] = result;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads the default format, counts NODATA and SKIPDATA, keeps "-" as null and IPv6 addresses', () => {
    const v2 = r['v2-default-documented.log']!;
    expect({ read: v2.recordsRead, flows: v2.flows, nodata: v2.nodata, skipdata: v2.skipdata }).toEqual({ read: 7, flows: 5, nodata: 1, skipdata: 1 });
    expect(v2.rows![0]).toMatchObject({
      raw_offset: 2n,
      src_ip: '172.31.16.139',
      dst_ip: '172.31.16.21',
      src_port: 20641,
      dst_port: 22,
      protocol: 6,
      packets: 20n,
      bytes: 4249n,
      action: 'accept',
      account_id: '123456789010',
      interface_id: 'eni-1235b8ca123456789',
      source_version: '2',
      direction: null,
      tcp_flags: null,
      start_at: new Date('2014-12-14T04:06:50Z'),
      end_at: new Date('2014-12-14T04:07:50Z'),
    });
    expect(v2.rows!.find((row) => row.protocol === 1 && row.action === 'reject')).toMatchObject({ src_port: 0, dst_port: 0 });
    // The documented ping (ports written 0 0) and the IPv6 SSH record: the IDs Elastic's AWS
    // integration computes for the same records (elastic/integrations, aws vpcflow
    // test-extra-samples), so flows join with Elastic's.
    expect(v2.rows!.filter((row) => row.protocol === 1).map((row) => row.community_id)).toEqual(['1:H//CCQJhRqDUJ9c23S0VrQ+drxU=', '1:cfQqw/Kh6+4yqhEKgkCw/m3WoJM=']);
    expect(v2.rows!.at(-1)!.community_id).toBe('1:hXZclvxUJScaVf0xMIJR6yW6tBQ=');
    expect(v2.rows!.at(-1)).toMatchObject({ src_ip: '2001:db8:1234:a100:8d6e:3477:df66:f105', dst_ip: '2001:db8:1234:a102:3304:8879:34cf:4071', raw_offset: 8n });
  });

  it('locates every field through the header, whatever the order', () => {
    const v3 = r['v3-tcp-flags-custom-order.log']!.rows!;
    expect(v3.map((row) => row.tcp_flags)).toEqual([2, 18, 2, 1]);
    expect(v3[1]).toMatchObject({
      src_ip: '10.0.0.62',
      src_port: 5001,
      bytes: 376n,
      packets: 7n,
      vpc_id: 'vpc-abcdefab012345678',
      subnet_id: 'subnet-aaaaaaaa012345678',
      instance_id: 'i-01234567890123456',
      traffic_type: 'IPv4',
      pkt_src_ip: '10.0.0.62',
      pkt_dst_ip: '52.213.180.42',
    });
    const v5 = r['v5-custom-order.log.gz']!.rows!;
    expect(v5[0]).toMatchObject({ direction: 'egress', traffic_path: 8, pkt_dst_aws_service: 'S3', pkt_src_aws_service: null, region: 'us-east-1', az_id: 'use1-az1', source_version: '5' });
    expect(v5[1]).toMatchObject({ direction: 'ingress', pkt_src_aws_service: 'AMAZON', traffic_path: null });
    expect(v5[2]).toMatchObject({ sublocation_type: 'outpost', sublocation_id: 'op-0a1b2c3d4e5f6a7b8', instance_id: null, action: 'reject' });
    // IPv6 in canonical RFC 5952 text, whatever the record wrote.
    expect(v5[3]).toMatchObject({ src_ip: '2600:1f18:1234:5600::10', dst_ip: '2600:1f18:1234:5601::20', traffic_type: 'IPv6', protocol: 17 });
  });

  it('reads Transit Gateway flow logs (version 6): every TGW field in its column, no action, NODATA counted', () => {
    const tgw = r['v6-transit-gateway.log']!;
    expect({ read: tgw.recordsRead, flows: tgw.flows, nodata: tgw.nodata, quarantined: tgw.quarantined }).toEqual({ read: 3, flows: 2, nodata: 1, quarantined: 0 });
    const [attachment, noRoute] = tgw.rows!;
    expect(attachment).toMatchObject({
      source_version: '6',
      resource_type: 'TransitGatewayAttachment',
      tgw_id: 'tgw-0a1b2c3d4e5f6a7b8',
      tgw_attachment_id: 'tgw-attach-0a1b2c3d4e5f6a7b8',
      tgw_src_vpc_account_id: '123456789012',
      tgw_dst_vpc_account_id: '210987654321',
      tgw_src_vpc_id: 'vpc-0a1b2c3d4e5f6a7b8',
      tgw_dst_vpc_id: 'vpc-0c2d3e4f5a6b7c8d9',
      tgw_src_subnet_id: 'subnet-0a1b2c3d4e5f6a7b8',
      tgw_dst_subnet_id: 'subnet-0c2d3e4f5a6b7c8d9',
      tgw_src_eni: 'eni-0a1b2c3d4e5f6a7b8',
      tgw_dst_eni: 'eni-0c2d3e4f5a6b7c8d9',
      tgw_src_az_id: 'use1-az1',
      tgw_dst_az_id: 'use1-az2',
      tgw_pair_attachment_id: 'tgw-attach-0c2d3e4f5a6b7c8d9',
      packets_lost_no_route: 0n,
      packets_lost_blackhole: 0n,
      packets_lost_mtu_exceeded: 0n,
      packets_lost_ttl_expired: 0n,
      src_ip: '10.1.0.10',
      dst_ip: '10.2.0.20',
      dst_port: 443,
      protocol: 6,
      packets: 12n,
      bytes: 4200n,
      tcp_flags: 19,
      direction: 'ingress',
      action: null,
      interface_id: null,
      account_id: '123456789012',
      region: 'us-east-1',
    });
    expect(noRoute).toMatchObject({ resource_type: 'TransitGateway', packets_lost_no_route: 3n, tgw_dst_vpc_id: null, tgw_pair_attachment_id: null, dst_port: 5432 });
    // The same fields from the Parquet delivery.
    expect(r['tgw.log.parquet']!.rows).toEqual([
      expect.objectContaining({
        source_version: '6',
        resource_type: 'TransitGateway',
        tgw_id: 'tgw-0a1b',
        tgw_attachment_id: 'tgw-attach-0a1b',
        tgw_src_vpc_id: 'vpc-0a1b',
        packets_lost_blackhole: 5n,
        dst_port: 443,
      }),
    ]);
  });

  it('keeps the version 7 ECS fields and the version 8 reject reason', () => {
    const [bpa, ecs] = r['v8-reject-reason-ecs.log']!.rows!;
    expect(bpa).toMatchObject({ reject_reason: 'BPA', action: 'reject', source_version: '8', ecs_cluster_name: null });
    expect(ecs).toMatchObject({
      ecs_cluster_arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
      ecs_cluster_name: 'prod',
      ecs_container_instance_id: '0a1b2c3d4e5f',
      ecs_container_id: '3c4d5e6f7a8b9c0d',
      ecs_second_container_id: null,
      ecs_service_name: 'checkout',
      ecs_task_id: '1a2b3c4d5e6f',
      ecs_task_definition_arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
      reject_reason: null,
    });
  });

  it('parses header-less records (Firehose, CloudWatch exports) with the configured format, and refuses a field-count mismatch', () => {
    expect(r['headerless-firehose.log']!.rows!.map((row) => [row.raw_offset, row.direction, row.traffic_path])).toEqual([
      [1n, 'egress', 1],
      [2n, 'ingress', null],
    ]);
    const export_ = r['cloudwatch-export.log']!;
    expect(export_.rows!).toHaveLength(1);
    expect(export_.rows![0]).toMatchObject({ src_port: 49201, start_at: new Date('2024-05-01T13:00:31Z') });
    expect(export_.quarantine).toEqual([{ raw_offset: 2, reason: 'expected 16 fields as the configured format says, found 15', raw_text: expect.stringContaining('49202') }]);
    expect(r['unknown-field.log']!.quarantine.map((q) => q.reason)).toEqual(['header names unknown fields: colour']);
  });

  it('reads the Parquet delivery through the same model, row number as offset', () => {
    const parquet = r['v5-parquet-delivery.log.parquet']!;
    expect({ flows: parquet.flows, nodata: parquet.nodata, read: parquet.recordsRead }).toEqual({ flows: 2, nodata: 1, read: 3 });
    expect(parquet.rows!.map((row) => [row.raw_offset, row.src_ip, row.traffic_path, row.pkt_dst_aws_service, row.tcp_flags])).toEqual([
      [1n, '10.0.1.10', 8, 'S3', 3],
      [2n, '185.220.101.45', null, null, 2],
    ]);
  });

  it('validates the configured format against the documented fields', () => {
    const parse = (format: string) => configSchema.safeParse({ sources: { aws_vpc: { prefix: 'raw/aws/', format } } });
    expect(parse('${version} ${srcaddr}  ${dstaddr}').data?.sources.aws_vpc.format).toBe('version srcaddr dstaddr');
    expect(parse('version colour').success).toBe(false);
    expect(configSchema.parse({}).sources.aws_vpc.format).toBe('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status');
  });
});
