import { readFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

/**
 * The two ways a record escapes its own hour's runs, each routed to late_records once, by the
 * run that finds it, in that run's partition, and alerted:
 * - beyond the lateness: an AWS file delivered more than `lateness` after a record's hour is in
 *   no delivery window of that hour (before late_records these records were "other hours" in
 *   every run and published nowhere);
 * - beyond the look-back: an Azure PT1H.json that grew after its hour left the rescan look-back;
 *   only what the published version did not hold is late.
 */
const AWS_KEY = 'raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/07/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240701T1210Z_a1b2c3d4.log.gz';
const NSG_KEY =
  'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1/y=2018/m=11/d=13/h=12/m=00/macAddress=000D3AF87856/PT1H.json';

describe('late_records', () => {
  let lake: LakeFixture;
  beforeEach(async () => {
    lake = await createLakeFixture({ config: { lateness: '15m', scheduler: { rescan_lookback: '2h', late_horizon: '12h' } } });
  });
  afterEach(() => lake?.cleanup());

  const run = async (hour: string, skipWhenPublished = false): Promise<HourlyEtlResult> => {
    const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date(`${hour}:00:00Z`), trigger: 'test', skipWhenPublished });
    expect(result.error ?? result.status, hour).toEqual(skipWhenPublished ? expect.stringMatching(/^(published|skipped)$/) : 'published');
    const c = result.counts;
    expect(c.records_read, hour).toBe(c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined);
    return result;
  };
  const late = () =>
    queryLake<{ run_hour: string; event_hour: string; reason: string; n: bigint; delay_s: bigint }>(
      lake,
      `SELECT strftime(run_hour_at, '%Y-%m-%dT%H') AS run_hour, strftime(event_hour_at, '%Y-%m-%dT%H') AS event_hour, reason, count(*) AS n, max(delivery_delay_s) AS delay_s
       FROM late_records GROUP BY ALL ORDER BY ALL`,
    );

  it('beyond the lateness: records of an hour no window of which holds their AWS file are routed once, by the last run that reads the file', async () => {
    // Delivered at 12:10: in the windows of 11 ([11:00, 12:15)) and 12. Records of 10, 11 and 12.
    const line = (hour: number, minute: number, port: number) => {
      const start = Date.UTC(2024, 6, 1, hour, minute) / 1000;
      return `2 123456789012 eni-0web1000000000001 10.0.1.10 10.0.2.20 ${port} 443 6 10 1000 ${start} ${start + 30} ACCEPT OK`;
    };
    const body = [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      line(10, 30, 40001),
      line(10, 40, 40002),
      line(10, 50, 40003),
      line(11, 10, 40004),
      line(11, 20, 40005),
      line(12, 5, 40006),
    ];
    await lake.store.putBytes(AWS_KEY, gzipSync(`${body.join('\n')}\n`));
    const deliveredAt = new Date('2024-07-01T12:10:00Z');
    await utimes(lake.store.localPathOf!(AWS_KEY)!, deliveredAt, deliveredAt);

    const eleven = await run('2024-07-01T11');
    expect(eleven.counts).toMatchObject({ flows_published: 2, other_hour: 4, late: 0 });
    const twelve = await run('2024-07-01T12');
    expect(twelve.counts).toMatchObject({ flows_published: 1, other_hour: 2, late: 3 });
    const ten = await run('2024-07-01T10');
    expect(ten.counts).toMatchObject({ objects: 0, flows_published: 0 });
    // 12:10 is 70 minutes after hour 10 ended.
    expect(await late()).toEqual([{ run_hour: '2024-07-01T12', event_hour: '2024-07-01T10', reason: 'beyond_lateness', n: 3n, delay_s: 4200n }]);
    const [alert] = twelve.alerts.filter((a) => a.rule_kind === 'late_data');
    expect(alert).toMatchObject({ rule_id: 'late_data_beyond_lateness', severity: 'high', flow_count: 3n, src_ip: null, dst_ip: null, protocol: null });
    expect(alert!.hour_at.toISOString()).toBe('2024-07-01T10:00:00.000Z');
    expect(alert!.description).toBe(
      '3 aws_vpc record(s) of hour 2024-07-01T10 in 1 object(s) reached the store 01:10:00 to 01:10:00 after that hour ended, outside the delivery window of the hour (lateness 15m), ' +
        'so no run of that hour reads them. They are in late_records (dt=2024-07-01/hour=12), not in flows, and were not checked against the rules. ' +
        'Raise lateness above the delay, then: netflow backfill --from 2024-07-01T10 --to 2024-07-01T10.',
    );

    // Reruns of both runs route nothing twice.
    await run('2024-07-01T12');
    await run('2024-07-01T11');
    expect((await late()).map((row) => row.n)).toEqual([3n]);
  });

  it('beyond the look-back: a PT1H.json that grew after its hour left the look-back routes only what its published version did not hold', async () => {
    const records = (JSON.parse(await readFile(path.join(REPO_ROOT, 'test', 'fixtures', 'azure-nsg', 'v2-documented-example.json'), 'utf8')) as { records: Record<string, unknown>[] }).records;
    const blob: unknown[] = [];
    const grow = async () => {
      const growth = blob.length / records.length;
      for (const record of records) {
        const text = JSON.stringify({ ...record, time: `2018-11-13T12:${String(2 + growth * 5).padStart(2, '0')}:00.0000000Z` }).replace(
          /"(154\d{7}),/g,
          (_m, epoch: string) => `"${Number(epoch) + (2 + growth * 5) * 60 + growth},`,
        );
        blob.push(JSON.parse(text));
      }
      await lake.store.putBytes(NSG_KEY, JSON.stringify({ records: blob }));
    };
    await grow();
    const published = await run('2018-11-13T12');
    const perGrowth = published.counts.flows_published;
    expect(perGrowth).toBeGreaterThan(0);

    // Hour 12 leaves the look-back (2h) at the run of 14: the blob grows after that.
    await grow();
    const fourteen = await run('2018-11-13T14');
    expect(fourteen.counts.late).toBe(perGrowth);
    expect(fourteen.lateInputs).toEqual([expect.objectContaining({ hour: '2018-11-13T12', key: NSG_KEY })]);
    expect(fourteen.alerts.map((a) => [a.rule_id, a.hour_at.toISOString(), a.flow_count])).toEqual([['late_data_beyond_lookback', '2018-11-13T12:00:00.000Z', BigInt(perGrowth)]]);
    expect(fourteen.alerts[0]!.description).toContain('after the rescan look-back (2h) of the hour had passed');
    const routed = await queryLake<{ n: bigint; published: bigint }>(lake, `SELECT count(*) AS n, count(*) FILTER (WHERE flow_id IN (SELECT flow_id FROM flows)) AS published FROM late_records`);
    expect(routed).toEqual([{ n: BigInt(perGrowth), published: 0n }]);

    // The run of 14 again (same late object: same run id, skipped) and the run of 15 (sees it routed by 14): nothing twice.
    expect((await run('2018-11-13T14', true)).status).toBe('skipped');
    expect((await run('2018-11-13T15')).counts.late).toBe(0);
    // Grown once more: the next run routes only the newest growth.
    await grow();
    expect((await run('2018-11-13T16')).counts.late).toBe(perGrowth);
    expect((await late()).map((row) => [row.run_hour, row.event_hour, row.reason, row.n])).toEqual([
      ['2018-11-13T14', '2018-11-13T12', 'beyond_lookback', BigInt(perGrowth)],
      ['2018-11-13T16', '2018-11-13T12', 'beyond_lookback', BigInt(perGrowth)],
    ]);
    // Folded by a rerun of 12: flows hold every growth once, and later runs route nothing more.
    expect((await run('2018-11-13T12')).counts.flows_published).toBe(3 * perGrowth);
    expect((await run('2018-11-13T17')).counts.late).toBe(0);
  });
});
