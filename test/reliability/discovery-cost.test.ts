import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverRunObjects, hourKeyOf, lateHoursOf, type AccountedObject } from '../../lib/sources/late-objects.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { FolderInfo, ListingCost, ListOptions, ObjectInfo, ObjectStore } from '../../lib/storage/object-store.ts';
import { configSchema } from '../../schemas/config.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { s3TestStore } from '../support/store-adapters.ts';
import { reportFigures } from './support/reliability-run.ts';

/**
 * Issue 18: discovery listed the AWS, Azure and OCI prefixes whole for every hour, so an estate
 * with years of flow logs listed every key it ever received, each hour. A store holding three
 * years of daily-partitioned objects of every source; a run lists only the hour's window, which
 * the test counts itself: a counting wrapper around the real local store, and the S3 test
 * server's own request log.
 */
const HOUR = new Date('2024-05-01T14:00:00Z');
const FIRST_DAY = Date.UTC(2022, 0, 1);
const DAYS = 1096;
const config = configSchema.parse({});
const p = (n: number) => String(n).padStart(2, '0');

/** One object a day of each source, in its native layout, at 14:05 (13:00 for hourly batches). */
function keysOfDay(day: Date): string[] {
  const y = day.getUTCFullYear();
  const m = p(day.getUTCMonth() + 1);
  const d = p(day.getUTCDate());
  const stamp = `${y}${m}${d}`;
  const aws = [
    ['111111111111', 'us-east-1'],
    ['111111111111', 'eu-west-1'],
    ['222222222222', 'us-east-1'],
    ['222222222222', 'eu-west-1'],
  ].map(([account, region]) => `raw/aws_vpc/AWSLogs/${account}/vpcflowlogs/${region}/${y}/${m}/${d}/${account}_vpcflowlogs_${region}_fl-0a1b_${stamp}T1405Z_abcd1234.log.gz`);
  return [
    ...aws,
    `raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/SUB-1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/y=${y}/m=${m}/d=${d}/h=14/m=00/macAddress=000D3AF87856/PT1H.json`,
    `raw/azure_vnet/insights-logs-flowlogflowevent/flowLogResourceID=/SUB-1/NETWORKWATCHERRG/NETWORKWATCHER_EASTUS_FLOW/y=${y}/m=${m}/d=${d}/h=14/m=00/macAddress=00224871C205/PT1H.json`,
    `raw/gcp_vpc/compute.googleapis.com/vpc_flows/${y}/${m}/${d}/14:00:00_14:59:59_S0.json`,
    `raw/oci_vcn/ocid1.serviceconnector.oc1.phx.example/${stamp}T140000Z_${stamp}T140500Z.0.log.gz`,
    `raw/agent/dt=${y}-${m}-${d}/hour=14/vm=i-0app/i-0app-000000000001.ndjson.gz`,
  ];
}

const ALL_KEYS = Array.from({ length: DAYS }, (_, index) => keysOfDay(new Date(FIRST_DAY + index * 86_400_000))).flat();
const WINDOW_KEYS = keysOfDay(HOUR).sort();

/** Counts what the wrapped store's listings ask and return, independently of the adapter's own cost. */
class CountingStore {
  requests = 0;
  entries = 0;
  constructor(private readonly inner: ObjectStore) {}
  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
    this.requests++;
    for await (const object of this.inner.list(prefix, options)) {
      this.entries++;
      yield object;
    }
  }
  async *listChildren(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo | FolderInfo> {
    this.requests++;
    for await (const entry of this.inner.listChildren!(prefix, options)) {
      this.entries++;
      yield entry;
    }
  }
}

/** The ledger's accounting with every watched late hour published (the rescan's largest listing). */
const everyLateHourPublished = async (hours: readonly Date[]) => new Map<string, AccountedObject[]>(hours.map((hour) => [hourKeyOf(hour), []]));

describe("discovery over three years of daily-partitioned objects lists only the hour's window", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-discovery-cost-'));
    for (const key of ALL_KEYS) {
      const file = path.join(dir, ...key.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, 'x');
    }
    // An unsafe key years before the window: never touched.
    await mkdir(path.join(dir, 'raw/aws_vpc/AWSLogs/9/vpcflowlogs/us-east-1/2023/01/01'), { recursive: true });
    await writeFile(path.join(dir, 'raw/aws_vpc/AWSLogs/9/vpcflowlogs/us-east-1/2023/01/01/a\\b.txt'), 'x');
  }, 300_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("local folder: the window's objects, from a few dozen requests and keys, whatever the history", async () => {
    const counting = new CountingStore(new LocalFolderStore(dir));
    const cost: ListingCost = { requests: 0, keys: 0 };
    const found = await discoverRunObjects(counting as unknown as ObjectStore, config, HOUR, undefined, { cost });
    expect(found.window.map((object) => object.key).sort()).toEqual(WINDOW_KEYS);
    expect(found.window.some((object) => object.unsafeKey !== undefined)).toBe(false);
    // Per source: one date prefix or two (the hour and the lateness), plus one delimiter listing per account/region/subscription level.
    expect(counting.requests).toBeLessThanOrEqual(40);
    expect(counting.entries).toBeLessThanOrEqual(40);
    expect(cost.requests).toBeGreaterThanOrEqual(counting.requests);

    // The late-data rescan: every hour past the look-back up to the horizon (D-7d … D-48h) watched at once.
    const lateCounting = new CountingStore(new LocalFolderStore(dir));
    const late = await discoverRunObjects(lateCounting as unknown as ObjectStore, config, HOUR, everyLateHourPublished);
    const watched = lateHoursOf(HOUR, config).length;
    expect(late.window.map((object) => object.key).sort()).toEqual(WINDOW_KEYS);
    // The watched hours' own objects are in their windows, none new to the (empty) accounting of those hours but listed.
    expect(late.late.length).toBe(6 * keysOfDay(HOUR).length);
    expect(lateCounting.requests).toBeLessThanOrEqual(8 * (watched + 2));
    reportFigures('reliability/discovery-cost local', {
      objects_in_store: ALL_KEYS.length + 1,
      window_objects: found.window.length,
      list_calls: counting.requests,
      entries_listed: counting.entries,
      adapter_requests: cost.requests,
      adapter_keys: cost.keys,
      rescan_watched_hours: watched,
      rescan_list_calls: lateCounting.requests,
      rescan_entries_listed: lateCounting.entries,
    });
  }, 120_000);

  describe('S3 test server (its own request log)', () => {
    let server: S3TestServer;
    let raw: S3Client;
    const awsKeys = ALL_KEYS.filter((key) => key.includes('/111111111111/vpcflowlogs/us-east-1/'));
    beforeAll(async () => {
      server = await startS3Server();
      raw = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true });
      for (let start = 0; start < awsKeys.length; start += 32) {
        await Promise.all(awsKeys.slice(start, start + 32).map((key) => raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: 'x' }))));
      }
      await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'raw/aws_vpc/AWSLogs/9/vpcflowlogs/us-east-1/2023/01/01/a\\b.txt', Body: 'x' }));
    }, 600_000);
    afterAll(async () => {
      raw?.destroy();
      await server?.stop();
    });

    it('lists the AWS day folder of the window and the account and region levels, nothing else', async () => {
      const store = s3TestStore(server);
      const awsOnly = { ...config, sources: Object.fromEntries(Object.entries(config.sources).map(([name, source]) => [name, { ...source, enabled: name === 'aws_vpc' }])) } as typeof config;
      server.listRequests.length = 0;
      const cost: ListingCost = { requests: 0, keys: 0 };
      const found = await discoverRunObjects(store, awsOnly, HOUR, undefined, { cost });
      store.destroy();
      expect(found.window.map((object) => object.key)).toEqual(WINDOW_KEYS.filter((key) => key.includes('/111111111111/vpcflowlogs/us-east-1/')));
      const served = server.listRequests.map((request) => `${request.delimiter ? 'children' : 'list'} ${request.prefix}`);
      // The top level (accounts; no Firehose year folder there), each account's regions, each region's day of the window.
      expect([...served].sort()).toEqual([
        'children raw/aws_vpc/AWSLogs/',
        'children raw/aws_vpc/AWSLogs/111111111111/vpcflowlogs/',
        'children raw/aws_vpc/AWSLogs/9/vpcflowlogs/',
        'list raw/aws_vpc/AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01/',
        'list raw/aws_vpc/AWSLogs/9/vpcflowlogs/us-east-1/2024/05/01/',
      ]);
      expect(cost.requests).toBe(server.listRequests.length);
      reportFigures('reliability/discovery-cost s3', {
        objects_in_bucket: awsKeys.length + 1,
        window_objects: found.window.length,
        list_requests: server.listRequests.length,
        entries_returned: server.listRequests.reduce((sum, request) => sum + request.entries, 0),
      });
    }, 120_000);
  });
});
