import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { formatRunSummary } from '../../cli/run-summary.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { AzureBlobStore } from '../../lib/storage/azure-blob-store.ts';
import { renderUnsafeKey, type ObjectStore } from '../../lib/storage/object-store.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../support/azurite-server.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { s3TestStore } from '../support/store-adapters.ts';
import { reportFigures } from './support/reliability-run.ts';

/**
 * Issue 18: one object with an unsafe key blocked every hour. The adapters refused a listed key
 * with a backslash (or NUL, or a `..` segment) by throwing, before the object could be
 * quarantined, and AWS, Azure and OCI prefixes were listed whole, so one such object of any date
 * failed all hours. The issue's repro, through each real adapter: the samples, plus
 * `AWSLogs/9/vpcflowlogs/us-east-1/2023/01/01/a\b.txt` (outside the window: never listed) and
 * unsafe keys inside the window of 2024-05-01T14 (quarantined by a safe rendering of the name).
 */
const HOUR = '2024-05-01T14';
const DAY = 'raw/aws_vpc/AWSLogs/9/vpcflowlogs/us-east-1';
const OUTSIDE = `${DAY}/2023/01/01/a\\b.txt`;
const awsFile = (stamp: string, tail: string) => `${DAY}/2024/05/01/9_vpcflowlogs_us-east-1_fl-0bad_${stamp}_${tail}.log.gz`;
const AWS_LINE = '2 9 eni-0bad 10.0.1.5 10.0.2.6 40000 443 6 3 180 1714572000 1714572060 ACCEPT OK\n';

interface Backend {
  name: string;
  /** Keys the backend can hold that the adapters refuse to fetch, inside the window. */
  insideKeys: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A store for the lake (undefined: the fixture's local folder). */
  store(): ObjectStore | undefined;
  /** Writes a key as another party would, past the adapter's own checks. */
  plant(lake: LakeFixture, key: string, body: Buffer): Promise<void>;
}

const local: Backend = {
  name: 'local folder',
  // A newline is only text (read as data, test/security/object-keys.test.ts); a key past 1,024 bytes is refused.
  insideKeys: [awsFile('20240501T1410Z', 'a\\b'), `${DAY}/2024/05/01/${`${'d'.repeat(200)}/`.repeat(5)}9_vpcflowlogs_us-east-1_fl-0bad_20240501T1420Z_long.log.gz`],
  async start() {},
  async stop() {},
  store: () => undefined,
  async plant(lake, key, body) {
    const file = path.join(lake.dir, 'lake', ...key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, body);
  },
};

const s3: Backend = (() => {
  let server: S3TestServer;
  let raw: S3Client;
  return {
    name: 's3 test server',
    // s3rver keeps objects as files, so a real `..` segment would escape its folder; `%2e%2e` is the same refusal.
    insideKeys: [awsFile('20240501T1410Z', 'a\\b'), `${DAY}/2024/05/01/%2e%2e/9_vpcflowlogs_us-east-1_fl-0bad_20240501T1420Z_dots.log.gz`],
    async start() {
      server = await startS3Server();
      raw = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true });
    },
    async stop() {
      raw.destroy();
      await server.stop();
    },
    store: () => s3TestStore(server),
    async plant(_lake, key, body) {
      await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: body }));
    },
  };
})();

const azure: Backend = (() => {
  let server: AzuriteServer;
  return {
    name: 'azurite',
    // Blob Storage turns a backslash into '/', so that case cannot exist there; encoded dot segments can.
    insideKeys: [`${DAY}/2024/05/01/%2e/9_vpcflowlogs_us-east-1_fl-0bad_20240501T1410Z_dot.log.gz`, `${DAY}/2024/05/01/%2e%2e/9_vpcflowlogs_us-east-1_fl-0bad_20240501T1420Z_dots.log.gz`],
    async start() {
      server = await startAzurite();
      await server.createContainer('lake');
      Object.assign(process.env, server.env);
    },
    async stop() {
      await server.stop();
    },
    store: () =>
      new AzureBlobStore({ type: 'azure_blob', account_url: server.accountUrl, container: 'lake', prefix: '', max_attempts: 3, block_upload_threshold_mb: 16, block_size_mb: 8 }, { env: server.env }),
    async plant(_lake, key, body) {
      const container = new ContainerClient(`${server.accountUrl}/lake`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
      await container.getBlockBlobClient(key).upload(body, body.length);
    },
  };
})();

describe.each([local, s3, azure])('an unsafe key through the real adapter: $name', (backend) => {
  let lake: LakeFixture;
  let result: HourlyEtlResult;

  beforeAll(async () => {
    await backend.start();
    const store = backend.store();
    lake = await createLakeFixture(store ? { store } : {});
    await deliverSamples({ store: lake.store });
    await backend.plant(lake, OUTSIDE, Buffer.from('not a flow log'));
    for (const key of backend.insideKeys) await backend.plant(lake, key, gzipSync(AWS_LINE));
    if (backend === local) {
      // Links in a local store could name any file of the machine: skipped, and said so once per run.
      const day = path.join(lake.dir, 'lake', ...`${DAY}/2024/05/01`.split('/'));
      await symlink('/etc/passwd', path.join(day, '9_vpcflowlogs_us-east-1_fl-0bad_20240501T1430Z_link.log.gz'));
      await symlink('/etc', path.join(lake.dir, 'lake', 'raw', 'aws_vpc', 'AWSLogs', '8'));
    }
    result = await lake.runHour(HOUR);
  }, 240_000);
  afterAll(async () => {
    await lake?.cleanup();
    await backend.stop();
  });

  it('the hour publishes', () => {
    expect(result.error ?? result.status).toBe('published');
    expect(result.counts.flows_published).toBeGreaterThan(0);
  });

  it('quarantines each unsafe key inside the window by a safe rendering of its name, counted, unread', async () => {
    const rows = await queryLake<{ raw_object_key: string; reason: string }>(
      lake,
      `SELECT raw_object_key, reason FROM quarantine WHERE raw_offset IS NULL AND reason LIKE 'object key is unsafe%' ORDER BY 1`,
    );
    const listedAs = await listedKeys(lake.store);
    expect(rows.map((row) => row.raw_object_key)).toEqual(backend.insideKeys.map((key) => listedAs.get(key) ?? renderUnsafeKey(key)).sort());
    for (const row of rows) expect(row.raw_object_key).not.toMatch(/[\\\n\u0000]|(^|\/)\.\.?(\/|$)/);
    expect(result.countsBySource['aws_vpc']!.objects_quarantined).toBe(backend.insideKeys.length);
    expect(lake.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    reportFigures(`reliability/unsafe-keys ${backend.name}`, {
      status: result.status,
      quarantined_whole: result.counts.objects_quarantined,
      unsafe_inside: rows.length,
      list_requests: result.listing?.requests,
      keys_listed: result.listing?.keys,
    });
  });

  it.runIf(backend === local)('logs each symbolic link it skips, once, and reads none', () => {
    const skipped = lake.logs.filter((line) => line.includes('listing skipped an entry')).map((line) => JSON.parse(line) as { key: string; why: string; level: string });
    expect(skipped.map((line) => [line.level, line.key, line.why]).sort()).toEqual([
      ['warn', 'raw/aws_vpc/AWSLogs/8', 'symbolic link, not followed'],
      ['warn', `${DAY}/2024/05/01/9_vpcflowlogs_us-east-1_fl-0bad_20240501T1430Z_link.log.gz`, 'symbolic link, not followed'],
    ]);
    expect(result.listing?.skipped).toBe(2);
    expect(JSON.stringify(result.inputs)).not.toContain('_link.log.gz');
  });

  it('records what the listing cost in the run summary and the ledger', async () => {
    expect(result.listing!.requests).toBeGreaterThan(0);
    expect(formatRunSummary(result)).toMatch(new RegExp(`listing: ${result.listing!.requests} request\\(s\\), ${result.listing!.keys} key\\(s\\) listed`));
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    expect(entries.at(-1)!.listing).toEqual(result.listing);
  });

  it('never lists the unsafe key outside the window', () => {
    expect(JSON.stringify(result.inputs)).not.toContain('2023/01/01');
    expect(lake.logs.join('\n')).not.toContain('2023/01/01');
  });
});

/** What the adapter's own listing calls each planted key (Azure may normalise a name). */
async function listedKeys(store: ObjectStore): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for await (const object of store.list(`${DAY}/2024/`)) if (object.unsafeKey !== undefined) keys.set(decodeURIComponent(object.key), object.key);
  return keys;
}
