import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { runHourlyAnalytics } from '../../jobs/hourly-analytics.ts';
import { engineDdl } from '../../lib/ddl/engine-ddl.ts';
import { OCSF_VIEW_NAME } from '../../lib/ocsf/ocsf-network-activity.ts';
import { AzureBlobStore, createServiceClient } from '../../lib/storage/azure-blob-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { azureBlobStoreSchema, s3StoreSchema, type StoreConfig } from '../../schemas/config.ts';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import { startAzurite, type AzuriteServer } from '../support/azurite-server.ts';
import { deltaReaderGuards, findDeltaReaders, netflowQueryRows, readWithPython, tableDifferences, type CanonicalRows, type ReaderRequest } from '../support/delta-readers.ts';
import { createLakeFixture } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';

/**
 * The lake where it is meant to live: on object storage, one copy that every engine reads. The real
 * jobs publish the demo lake (both hours, the analytics, then reruns that replace hour 13's files
 * and leave a checkpoint with a commit after it) to the S3 test server (s3rver over HTTP, SigV4,
 * path-style) and to Azurite; delta-rs and Spark then read every table straight from the store,
 * with the options docs/engines.md gives, and must return exactly the rows `netflow query` returns
 * over the same store. Spark reads S3 through Hadoop's s3a filesystem and the DDL of `netflow ddl`.
 */
const readers = findDeltaReaders();
const guards = deltaReaderGuards(readers);
const HOUR_13 = '2024-05-01T13';
const HOUR_14 = '2024-05-01T14';
const S3_PREFIX = 'lake';
const AZURE_CONTAINER = 'lake';
const AZURE_PREFIX = 'netflow';
// s3rver's fixed test credentials (test/support/s3-server.ts); not a secret.
const S3_KEY = 'S3RVER';

/** Publishes the demo lake to `store` with the real jobs, and reads every table back through netflow query. */
async function publishDemoLake(store: ObjectStore, storeConfig: StoreConfig): Promise<Record<string, CanonicalRows>> {
  const lake = await createLakeFixture({ store, config: { store: storeConfig, publish: { grace_period: '0s', checkpoint_interval: 2 } } });
  try {
    await deliverSamples({ store });
    for (const hour of [HOUR_13, HOUR_14]) expect((await lake.runHour(hour)).status).toBe('published');
    const analytics = await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store, logger: lake.logger, from: new Date(`${HOUR_13}:00:00Z`), to: new Date('2024-05-01T15:00:00Z') });
    expect(analytics.status, analytics.error).toBe('published');
    // Reruns: hour 13's files replaced, then flows' checkpoint (version 2) with a commit after it (3).
    for (const hour of [HOUR_13, HOUR_14]) expect((await lake.runHour(hour)).status).toBe('published');
    expect(await store.head('curated/flows/_delta_log/_last_checkpoint')).toBeDefined();
    expect(await store.head('curated/flows/_delta_log/00000000000000000003.json')).toBeDefined();
    const relations = Object.fromEntries(QUERYABLE_TABLES.map((table) => [table.name, `"${table.name}"`]));
    const netflow = await netflowQueryRows(store, path.join(lake.dir, 'query'), { ...relations, [OCSF_VIEW_NAME]: OCSF_VIEW_NAME });
    expect(netflow.flows!.rows.length).toBeGreaterThan(0);
    return netflow;
  } finally {
    await lake.cleanup();
  }
}

/** Every table read by `reader` equals netflow query's (and the OCSF view, where the reader read it). */
function problemsOf(netflow: Record<string, CanonicalRows>, read: Record<string, CanonicalRows>): string[] {
  const names = [...QUERYABLE_TABLES.map((table) => table.name), ...(OCSF_VIEW_NAME in read ? [OCSF_VIEW_NAME] : [])];
  return names.flatMap((name) => tableDifferences(name, netflow[name]!, read[name]));
}

async function lakeKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list('curated/')) keys.push(object.key);
  return keys.sort();
}

function tableUrls(lakeRoot: string): Record<string, string> {
  return Object.fromEntries(QUERYABLE_TABLES.map((table) => [table.name, `${lakeRoot}/${table.root}/${table.name}`]));
}

guards.any.describe('independent Delta readers read a lake on S3 and on Azure Blob as netflow query does', { timeout: 1_200_000 }, () => {
  let s3: S3TestServer;
  let azurite: AzuriteServer;
  let s3Store: S3ObjectStore;
  let onS3: Record<string, CanonicalRows>;
  let onAzure: Record<string, CanonicalRows>;
  let work: string;
  const read = async (request: ReaderRequest) => (await readWithPython(readers, work, request)).tables;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'netflow-interop-stores-'));
    [s3, azurite] = await Promise.all([startS3Server(), startAzurite()]);
    const s3Config = s3StoreSchema.parse({ type: 's3', bucket: s3.bucket, prefix: `${S3_PREFIX}/`, region: s3.region, endpoint: s3.endpoint, force_path_style: true, max_attempts: 3 });
    s3Store = new S3ObjectStore(s3Config);
    await azurite.createContainer(AZURE_CONTAINER);
    const azureConfig = azureBlobStoreSchema.parse({ type: 'azure_blob', account_url: azurite.accountUrl, container: AZURE_CONTAINER, prefix: `${AZURE_PREFIX}/`, max_attempts: 3 });
    const azureStore = new AzureBlobStore(azureConfig, { serviceClient: createServiceClient(azureConfig, azurite.env) });
    // One lake after the other: two job runs at once would only compete for the machine's two cores.
    onS3 = await publishDemoLake(s3Store, s3Config);
    onAzure = await publishDemoLake(azureStore, azureConfig);
  });
  afterAll(async () => {
    s3Store?.destroy();
    await Promise.all([s3?.stop(), azurite?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  guards.deltalake.it('delta-rs reads every table from S3', { timeout: 600_000 }, async () => {
    const storage_options = {
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: S3_KEY,
      AWS_SECRET_ACCESS_KEY: S3_KEY,
      AWS_ALLOW_HTTP: 'true',
      AWS_VIRTUAL_HOSTED_STYLE_REQUEST: 'false',
    };
    const tables = await read({ reader: 'deltalake', tables: tableUrls(`s3://${s3.bucket}/${S3_PREFIX}`), storage_options });
    expect(problemsOf(onS3, tables)).toEqual([]);
  });

  guards.deltalake.it('delta-rs reads every table from Azure Blob (Azurite)', { timeout: 600_000 }, async () => {
    // The lake root as netflow ddl prints it (abfss://container@account…/prefix); the endpoint
    // option sends every request to Azurite instead of the account's host.
    const storage_options = {
      azure_storage_account_name: azurite.accountName,
      azure_storage_account_key: azurite.accountKey,
      azure_storage_endpoint: azurite.accountUrl,
      allow_http: 'true',
    };
    const tables = await read({ reader: 'deltalake', tables: tableUrls(`abfss://${AZURE_CONTAINER}@${azurite.accountName}.dfs.core.windows.net/${AZURE_PREFIX}`), storage_options });
    expect(problemsOf(onAzure, tables)).toEqual([]);
  });

  guards.sparkS3.it('Spark reads every table and the OCSF view from S3 through s3a, registered by the Spark DDL of netflow ddl', { timeout: 1_200_000 }, async () => {
    const spark_conf = {
      'spark.hadoop.fs.s3a.endpoint': s3.endpoint,
      'spark.hadoop.fs.s3a.endpoint.region': s3.region,
      'spark.hadoop.fs.s3a.path.style.access': 'true',
      'spark.hadoop.fs.s3a.connection.ssl.enabled': 'false',
      'spark.hadoop.fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
      'spark.hadoop.fs.s3a.access.key': S3_KEY,
      'spark.hadoop.fs.s3a.secret.key': S3_KEY,
    };
    const ddl = engineDdl({ engine: 'spark', location: `s3a://${s3.bucket}/${S3_PREFIX}`, schema: 'netflow', catalog: 'delta', tables: QUERYABLE_TABLES, ocsfView: true });
    const byName = Object.fromEntries([...QUERYABLE_TABLES.map((table) => table.name), OCSF_VIEW_NAME].map((name) => [name, `netflow.${name}`]));
    const keysBefore = await lakeKeys(s3Store);
    const tables = await read({ reader: 'spark', tables: byName, spark_ddl: ddl, spark_conf, extra_jars: readers.s3aJars });
    expect(problemsOf(onS3, tables)).toEqual([]);
    // Registering and reading commit nothing and leave no marker objects: the lake is as the jobs left it.
    expect(await lakeKeys(s3Store)).toEqual(keysBefore);
  });
});
