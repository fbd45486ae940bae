import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { netflow } from '../support/run-netflow.ts';

/**
 * The custom formats of AWS's "Flow log record examples", verbatim: the transit-gateway example
 * (no start, end, packets or bytes), the NAT gateway example (addresses only: no version, ports,
 * protocol, times, counters or action) and the service-name/traffic-path/flow-direction example
 * (version 5, every field). All are flows; none is quarantined. Without times, a record takes its
 * object's delivery window (the 5 minutes its file name closes) and says so (is_delivery_window).
 */
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'aws-vpc');
const CASES = [
  { file: 'custom-transit-gateway-documented_20240501T1305Z.log', flows: 4, hour: '2024-05-01T13', window: ['2024-05-01T13:00:00', '2024-05-01T13:05:00'] },
  { file: 'custom-nat-gateway-documented_20240501T1310Z.log', flows: 6, hour: '2024-05-01T13', window: ['2024-05-01T13:05:00', '2024-05-01T13:10:00'] },
  { file: 'v5-traffic-path-documented_20210326T0330Z.log', flows: 2, hour: '2021-03-26T03', window: null },
] as const;

/** The S3 key AWS would deliver the file under: …/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_<flow log id>_<time>_<hash>.log.gz */
function deliveredKey(file: string): string {
  const stamp = /_(\d{8}T\d{4}Z)\.log$/.exec(file)![1]!;
  const day = `${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}`;
  return `raw/aws_vpc/AWSLogs/123456789010/vpcflowlogs/us-east-1/${day}/123456789010_vpcflowlogs_us-east-1_fl-1234abcd_${stamp}_5f6e7d8c.log.gz`;
}

describe('AWS documented custom formats', () => {
  it.each(CASES)('netflow inspect $file: $flows flows, none quarantined', async ({ file, flows, window }) => {
    const result = await netflow(FIXTURES, ['inspect', file]);
    expect(result.stderr).toMatch(new RegExp(`flows: ${flows}\\b`));
    expect(result.stderr).toMatch(/quarantined: 0\b/);
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(flows);
    for (const row of rows) {
      expect(row.is_delivery_window).toBe(window !== null);
      if (window) expect([row.start_at, row.end_at]).toEqual(window.map((at) => at.replace('T', ' ')));
    }
  });

  it('quarantines records without times when the object name states no delivery time, naming why', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'netflow-aws-custom-'));
    try {
      await writeFile(path.join(dir, 'renamed.log'), await readFile(path.join(FIXTURES, CASES[0].file)));
      const result = await netflow(dir, ['inspect', 'renamed.log']);
      expect(result.stderr).toMatch(/quarantined: 4\b/);
      expect(result.stderr).toContain('the format has no start and end, and the object name states no delivery time');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('an hour of them', () => {
    let lake: LakeFixture;
    const results: Record<string, HourlyEtlResult> = {};
    beforeAll(async () => {
      lake = await createLakeFixture();
      for (const c of CASES) await lake.store.putBytes(deliveredKey(c.file), gzipSync(await readFile(path.join(FIXTURES, c.file))));
      for (const hour of new Set(CASES.map((c) => c.hour))) results[hour] = await lake.runHour(hour);
    }, 120_000);
    afterAll(() => lake.cleanup());

    it('publishes every record as a flow, none quarantined', () => {
      for (const [hour, result] of Object.entries(results)) {
        expect(result.error ?? result.status, hour).toBe('published');
        const aws = result.countsBySource.aws_vpc!;
        expect({ hour, read: aws.records_read, published: aws.flows_published, quarantined: aws.quarantined }).toEqual({
          hour,
          read: CASES.filter((c) => c.hour === hour).reduce((n, c) => n + c.flows, 0),
          published: aws.records_read,
          quarantined: 0,
        });
      }
    });

    it("keeps what the format has and leaves the rest NULL; the times are the delivery window's", async () => {
      const rows = await queryLake(
        lake,
        `SELECT src_ip, dst_ip, protocol, packets, bytes, action, start_at, end_at, is_delivery_window, pkt_dst_ip, counts_in_totals
        FROM flows WHERE interface_id = 'eni-1235b8ca123456789' AND start_at < TIMESTAMP '2024-05-01 14:00:00' AND start_at >= TIMESTAMP '2024-05-01 13:00:00' ORDER BY src_ip, dst_ip`,
      );
      expect(rows[0]).toEqual({
        src_ip: '10.0.0.220',
        dst_ip: '10.0.1.5',
        protocol: null,
        packets: null,
        bytes: null,
        action: null,
        start_at: new Date('2024-05-01T13:05:00Z'),
        end_at: new Date('2024-05-01T13:10:00Z'),
        is_delivery_window: true,
        pkt_dst_ip: '10.0.1.5',
        counts_in_totals: true,
      });
      const [v5] = await queryLake(lake, `SELECT packets, bytes, is_delivery_window, direction, traffic_path FROM flows WHERE dst_ip = '52.95.128.179'`);
      expect(v5).toEqual({ packets: 7n, bytes: 471n, is_delivery_window: false, direction: 'egress', traffic_path: 8 });
    });

    it('the traffic matrix counts flows without counters, and no bytes for them', async () => {
      const [totals] = await queryLake(lake, `SELECT sum(flows) AS flows, sum(bytes) AS bytes FROM traffic_matrix WHERE dimension = 'segment' AND hour_at = TIMESTAMP '2024-05-01 13:00:00'`);
      expect(totals).toEqual({ flows: 10n, bytes: 0n });
    });
  });
});
