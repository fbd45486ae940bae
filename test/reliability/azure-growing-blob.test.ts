import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureBlobStoreSchema, s3StoreSchema } from '../../schemas/config.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { flowsTable } from '../../schemas/tables/index.ts';
import { AzureBlobStore, createServiceClient } from '../../lib/storage/azure-blob-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { startAzurite } from '../support/azurite-server.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { startS3Server } from '../support/s3-server.ts';
import { count, reportFigures } from './support/reliability-run.ts';

/**
 * Suite 6 of issue 8, Azure part: an NSG flow log blob (`PT1H.json`) is appended to during its
 * hour, on each store the job supports (a local folder, S3 through s3rver, Azure Blob through
 * Azurite). The hour runs while the blob is partial, then reruns each time it grows (what the
 * rescan does when the ETag changes): every flow is published exactly once, never once per
 * version of the blob. The blob also grows *between a run's listing and its download*: the run
 * never reads it under the listed ETag (which its run id names); it lists again and publishes the
 * grown version, or, when the blob changes at every download, fails cleanly and publishes nothing.
 */
const GROWTHS = count(12, 3);
const HOUR = new Date('2018-11-13T12:00:00Z');
const KEY =
  'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1/y=2018/m=11/d=13/h=12/m=00/macAddress=000D3AF87856/PT1H.json';

interface StoreCase {
  name: string;
  /** Undefined: the lake fixture's own local folder. */
  start(): Promise<{ store?: ObjectStore; stop(): Promise<void> }>;
}

const STORES: StoreCase[] = [
  { name: 'local folder', start: async () => ({ stop: async () => undefined }) },
  {
    name: 's3 (s3rver)',
    async start() {
      const server = await startS3Server();
      const store = new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix: 'growing/', region: server.region, endpoint: server.endpoint, force_path_style: true }));
      return { store, stop: async () => (store.destroy(), await server.stop()) };
    },
  },
  {
    name: 'azure blob (azurite)',
    async start() {
      const server = await startAzurite();
      await server.createContainer('lake');
      const config = azureBlobStoreSchema.parse({ type: 'azure_blob', account_url: server.accountUrl, container: 'lake' });
      return { store: new AzureBlobStore(config, { serviceClient: createServiceClient(config, server.env) }), stop: () => server.stop() };
    },
  },
];

/** The store with a writer that appends to the blob right before the job's download of it, `times` times. */
function appendingBeforeDownload(store: ObjectStore, times: number, append: () => Promise<void>): ObjectStore & { appended: () => number } {
  let appended = 0;
  return {
    description: store.description,
    list: (prefix) => store.list(prefix),
    head: (key) => store.head(key),
    async getToFile(key, localPath, options) {
      if (key === KEY && appended < times) {
        appended++;
        await append();
      }
      return store.getToFile(key, localPath, options);
    },
    getBytes: (key) => store.getBytes(key),
    putFile: (key, localPath, options) => store.putFile(key, localPath, options),
    putBytes: (key, body, options) => store.putBytes(key, body, options),
    delete: (key) => store.delete(key),
    ...(store.localPathOf ? { localPathOf: (key: string) => store.localPathOf!(key) } : {}),
    appended: () => appended,
  };
}

describe.each(STORES)('Azure PT1H.json growing during the hour: $name', (storeCase) => {
  let lake: LakeFixture;
  let stop: () => Promise<void>;
  let records: Record<string, unknown>[];
  const blob: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const started = await storeCase.start();
    stop = started.stop;
    lake = await createLakeFixture(started.store ? { store: started.store } : {});
    records = (JSON.parse(await readFile(path.join(REPO_ROOT, 'test', 'fixtures', 'azure-nsg', 'v2-documented-example.json'), 'utf8')) as { records: Record<string, unknown>[] }).records;
  });
  afterAll(async () => {
    await stop?.();
    await lake?.cleanup();
  });

  /** Appends the fixture's records again at a later minute of the hour (new flows) and writes the blob. */
  const grow = async () => {
    const growth = blob.length / records.length;
    for (const record of records) {
      const copy = structuredClone(record);
      copy.time = `2018-11-13T12:${String(2 + growth * 3).padStart(2, '0')}:00.0000000Z`;
      // Flow tuples carry their own epoch seconds: shift them into this minute so each append is new flows.
      const text = JSON.stringify(copy).replace(/"(154\d{7}),/g, (_m, epoch: string) => `"${Number(epoch) + (2 + growth * 3) * 60 + growth},`);
      blob.push(JSON.parse(text) as Record<string, unknown>);
    }
    await lake.store.putBytes(KEY, JSON.stringify({ records: blob }));
  };
  const run = (store: ObjectStore = lake.store) => runHourAndRecord({ config: lake.config, baseDir: lake.dir, store, logger: lake.logger, hour: HOUR, trigger: 'test', skipWhenPublished: true });
  const lakeFlows = async () => {
    const [row] = await queryLake<{ flows: bigint; distinct_flows: bigint }>(lake, `SELECT count(*) AS flows, count(DISTINCT flow_id) AS distinct_flows FROM flows`);
    return { flows: Number(row!.flows), distinct: Number(row!.distinct_flows) };
  };

  it(`${GROWTHS} appends with a run after each, then appends between listing and download: every flow once, never under a stale ETag`, async () => {
    const perRun: number[] = [];
    for (let growth = 0; growth < GROWTHS; growth++) {
      await grow();
      const result = await run();
      expect(result.error ?? result.status).toBe('published');
      perRun.push(result.counts.flows_published);
    }
    const perGrowth = perRun[0]!;
    // Every run saw the whole blob so far; the lake holds the last run's flows once each.
    expect(perRun).toEqual(perRun.map((_, i) => perGrowth * (i + 1)));
    expect(await lakeFlows()).toEqual({ flows: perGrowth * GROWTHS, distinct: perGrowth * GROWTHS });

    // Appended once after the listing: the pinned download refuses it, the run lists again and
    // publishes the grown blob, its ledger naming the ETag it really read.
    await grow();
    const racing = appendingBeforeDownload(lake.store, 1, grow);
    const raced = await run(racing);
    expect(raced.error ?? raced.status).toBe('published');
    expect(racing.appended()).toBe(1);
    expect(raced.counts.flows_published).toBe(perGrowth * (GROWTHS + 2));
    const head = await lake.store.head(KEY);
    expect(raced.inputs.find((input) => input.key === KEY)).toMatchObject({ etag: head!.etag, size: head!.size });
    expect(lake.logs.some((line) => line.includes('an object changed between listing and download'))).toBe(true);
    expect(await lakeFlows()).toEqual({ flows: perGrowth * (GROWTHS + 2), distinct: perGrowth * (GROWTHS + 2) });

    // Appended before every download: the run gives up after its listings, publishes nothing.
    await grow();
    const before = await readPublishedPartition(lake.store, flowsTable, { dt: '2018-11-13', hour: '12' });
    const restless = appendingBeforeDownload(lake.store, Number.POSITIVE_INFINITY, grow);
    const failed = await run(restless);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/object changed since it was listed: .*PT1H\.json/);
    expect(restless.appended()).toBe(3);
    expect(await readPublishedPartition(lake.store, flowsTable, { dt: '2018-11-13', hour: '12' })).toEqual(before);
    const [last] = (await new RunLedger(lake.config.ledger.path).entries()).slice(-1);
    expect(last!.status).toBe('failed');

    // The next run, with the blob at rest, reads it whole: still every flow once.
    const settled = await run();
    expect(settled.error ?? settled.status).toBe('published');
    const total = blob.length / records.length;
    expect(await lakeFlows()).toEqual({ flows: perGrowth * total, distinct: perGrowth * total });
    reportFigures('late-data/azure-growing-blob', {
      store: storeCase.name,
      appends: GROWTHS,
      flows_after_each_run: perRun,
      raced_run_flows: raced.counts.flows_published,
      restless_listings: restless.appended(),
      flows_in_lake: perGrowth * total,
    });
  }, 600_000);
});
