import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeFiles, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

describe('GCP VPC Flow Logs (Cloud Logging sink) and OCI VCN flow logs (Connector Hub)', () => {
  const r: Record<string, NormalizeFileResult> = {};

  beforeAll(async () => {
    const results = await normalizeFiles(
      [
        { file: path.join(FIXTURES, 'gcp-vpc/src-and-dest-reports.json'), sourceType: 'gcp_vpc', objectKey: 'gcp' },
        { file: path.join(FIXTURES, 'oci-vcn/connector-hub-batch.log'), sourceType: 'oci_vcn', objectKey: 'oci' },
        { file: path.join(FIXTURES, 'oci-vcn/quality-events.log'), sourceType: 'oci_vcn', objectKey: 'oci-quality' },
      ],
      { collectRows: true, threads: 2 },
    );
    for (const result of results) r[result.objectKey] = result;
  });

  it('GCP: counters arrive as JSON strings, times as RFC 3339 (nanoseconds cut to microseconds), direction from the reporter', () => {
    const [src, dest, external, icmp] = r['gcp']!.rows!;
    expect(src).toMatchObject({
      reporter: 'SRC',
      direction: 'egress',
      src_ip: '10.128.0.4',
      src_port: 40912,
      dst_ip: '10.128.0.5',
      dst_port: 5432,
      protocol: 6,
      bytes: 1120n,
      packets: 12n,
      start_at: new Date('2019-06-14T03:49:41.016Z'),
      instance_id: 'app-1',
      account_id: 'my-project',
      region: 'us-central1',
      az_id: 'us-central1-a',
      vpc_id: 'default',
      subnet_id: 'default',
      action: null,
    });
    expect(dest).toMatchObject({ reporter: 'DEST', direction: 'ingress', instance_id: 'db-1', bytes: 1064n });
    expect(external).toMatchObject({ reporter: 'DEST', src_ip: '35.235.241.46', dst_port: 22 });
    expect(icmp).toMatchObject({ protocol: 1, src_port: null, dst_port: null, community_id: null });
  });

  it("GCP: both ends' reports of a flow are kept as candidates (which counts is decided with every observer, test/enrich/counted-once.test.ts)", () => {
    expect(r['gcp']!.rows!.map((row) => [row.reporter, row.counts_in_totals])).toEqual([
      ['SRC', true],
      ['DEST', true],
      ['DEST', true],
      ['SRC', true],
    ]);
    // Both reports are kept as flows (each VM's view), with the same Community ID.
    const [src, dest] = r['gcp']!.rows!;
    expect(dest!.community_id).toBe(src!.community_id);
  });

  it('OCI: the Connector Hub entry and the Logging API wrapper both parse; the VNIC is the observer', () => {
    const [accept, reject, wrapped] = r['oci']!.rows!;
    expect(accept).toMatchObject({
      src_ip: '203.0.113.7',
      dst_ip: '10.0.0.2',
      dst_port: 443,
      protocol: 6,
      packets: 30n,
      bytes: 17114n,
      action: 'accept',
      direction: null,
      start_at: new Date('2023-05-17T18:49:59Z'),
      end_at: new Date('2023-05-17T18:50:28Z'),
      interface_id: 'ocid1.vnic.oc1.phx.abyhqljtexamplevnic',
      subnet_id: 'ocid1.subnet.oc1.phx.aaaaaaaaexamplesubnet',
      account_id: 'ocid1.tenancy.oc1..aaaaaaaaexampletenancy',
      region: 'us-phoenix-1',
      source_version: '2',
    });
    expect(reject).toMatchObject({ action: 'reject', dst_port: 22 });
    expect(wrapped).toMatchObject({ src_ip: '10.0.0.219', dst_ip: '147.154.101.151', region: 'us-phoenix-1', interface_id: 'ocid1.vnic.oc1.phx.abyhqljtexamplevnic2' });
  });

  it('OCI: quality events (QualityEvent.NoData, .SkipData; data with times only) count as NODATA and SKIPDATA, not flows; another type is refused', () => {
    const quality = r['oci-quality']!;
    expect({ read: quality.recordsRead, flows: quality.flows, nodata: quality.nodata, skipdata: quality.skipdata, quarantined: quality.quarantined }).toEqual({
      read: 4,
      flows: 0,
      nodata: 2,
      skipdata: 1,
      quarantined: 1,
    });
    expect(quality.quarantine.map((q) => [q.raw_offset, q.reason])).toEqual([[4, expect.stringMatching(/^not a VCN flow log entry: type "com\.oraclecloud\.vcn\.flowlogs\.SomethingElse" is not /)]]);
  });
});
