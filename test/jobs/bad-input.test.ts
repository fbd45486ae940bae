import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const T = 1714568400; // 2024-05-01T13:00:00Z
const good = (n: number) => `2 123456789012 eni-0web1000000000001 93.184.216.34 10.0.1.10 ${40000 + n} 443 6 10 5000 ${T + n} ${T + n + 30} ACCEPT OK`;
const awsKey = (stamp: string, id: string) => `raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0bad_20240501T${stamp}Z_${id}.log.gz`;
const agentKey = (name: string) => `raw/agent/dt=2024-05-01/hour=13/vm=i-0app00000000001/${name}.ndjson.gz`;
const agentRecord = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 1,
    vm_id: 'i-0app00000000001',
    interface_id: 'eth0',
    interval_start_at: '2024-05-01T13:10:00.000Z',
    interval_s: 60,
    start_at: '2024-05-01T13:10:01.000Z',
    end_at: '2024-05-01T13:10:02.000Z',
    src_ip: '10.0.2.10',
    dst_ip: '10.0.3.10',
    src_port: 50000,
    dst_port: 1433,
    protocol: 6,
    direction: 'egress',
    packets: 3,
    bytes: 180,
    tcp_flags: 24,
    ...overrides,
  });

describe('bad input is quarantined with a reason and the run goes on', () => {
  let lake: LakeFixture;
  let result: HourlyEtlResult;
  let quarantine: Record<string, unknown>[];

  beforeAll(async () => {
    lake = await createLakeFixture();
    const put = (key: string, body: Buffer | string) => lake.store.putBytes(key, body);
    // A healthy object with two malformed lines among good ones.
    await put(
      awsKey('1305', '01'),
      gzipSync(
        [
          HEADER,
          good(1),
          '2 123456789012 eni-x 1.2.3.4 5.6.7.8 notaport 22 6 20 4249 1714568410 1714568470 ACCEPT OK',
          good(2),
          '2 123456789012 eni-x 1.2.3.4',
          `2 123456789012 eni-x 1.2.3.999 5.6.7.8 1 70000 6 1 1 ${T} ${T} ACCEPT OK`,
          good(3),
        ].join('\n') + '\n',
      ),
    );
    // A gzip file cut in half: unreadable as a whole.
    const full = gzipSync([HEADER, ...Array.from({ length: 200 }, (_, i) => good(i))].join('\n') + '\n');
    await put(awsKey('1310', '02'), full.subarray(0, Math.floor(full.length / 2)));
    // An empty object.
    await put(awsKey('1315', '03'), Buffer.alloc(0));
    // Plain (not gzip) text with bytes that are not UTF-8 and a line over 1 MiB.
    await put(awsKey('1320', '04'), Buffer.concat([Buffer.from(`${HEADER}\n${good(4)}\n`), Buffer.from([0x32, 0x20, 0xff, 0xfe, 0x0a]), Buffer.from(`${'x'.repeat(1024 * 1024 + 10)}\n${good(5)}\n`)]));
    // Agent records: valid, bad JSON, wrong types, unknown version.
    await put(
      agentKey('i-0app00000000001-000000000001'),
      gzipSync([agentRecord(), '{"v":1,"vm_id":"i-0app', agentRecord({ src_port: 'http' }), agentRecord({ v: 7 }), agentRecord({ dst_ip: '999.1.1.1', bytes: -1 })].join('\n') + '\n'),
    );
    result = await lake.runHour('2024-05-01T13');
    quarantine = await queryLake(lake, `SELECT raw_object_key, raw_offset, reason, raw_text FROM quarantine ORDER BY raw_object_key, raw_offset NULLS FIRST`);
  });
  afterAll(() => lake.cleanup());

  it('publishes the healthy records', () => {
    expect(result.error ?? result.status).toBe('published');
    expect(result.counts.flows_published).toBe(3 + 2 + 1);
  });

  it('reconciles records read with published plus quarantined', () => {
    const c = result.counts;
    expect(c).toMatchObject({ objects: 5, objects_quarantined: 2, quarantined: 3 + 2 + 4 });
    expect(c.records_read).toBe(c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined);
  });

  it('names the object, the line and what was wrong', () => {
    const rows = quarantine.map((q) => `${String(q.raw_object_key).split('_').at(-1)}:${q.raw_offset ?? '-'} ${q.reason}`);
    // Keys sort raw/agent/… before raw/aws_vpc/….
    expect(rows).toEqual([
      expect.stringMatching(/i-0app00000000001-000000000001\.ndjson\.gz:2 not a JSON object$/),
      expect.stringMatching(/:3 src_port: "http" is not a port/),
      expect.stringMatching(/:4 v: "7" is not a supported agent record version/),
      expect.stringMatching(/:5 dst_ip: "999\.1\.1\.1" is not an IP address; bytes: "-1" is not a non-negative integer$/),
      expect.stringMatching(/^01\.log\.gz:3 srcport: "notaport" is not a port/),
      '01.log.gz:5 expected 14 fields as the header says, found 4',
      expect.stringMatching(/^01\.log\.gz:6 srcaddr: "1\.2\.3\.999" is not an IP address; dstport: "70000" is not a port \(0-65535\)$/),
      expect.stringMatching(/^02\.log\.gz:- object cannot be read: gzip stream is corrupt or truncated/),
      '03.log.gz:- object is empty (0 bytes)',
      '04.log.gz:3 line is not valid UTF-8',
      expect.stringMatching(/^04\.log\.gz:4 line is 1048586 bytes, longer than the limit of 1048576$/),
    ]);
    expect(quarantine[4]!.raw_text).toContain('notaport');
    expect(String(quarantine[10]!.raw_text).length).toBe(4096);
  });
});
