import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverObjects } from '../../jobs/hourly-etl.ts';
import { AzureBlobStore, createServiceClient } from '../../lib/storage/azure-blob-store.ts';
import { createObjectStore } from '../../lib/storage/create-object-store.ts';
import { InvalidKeyError, ObjectExistsError, type ObjectStore } from '../../lib/storage/object-store.ts';
import { configSchema, type AzureBlobStoreConfig } from '../../schemas/config.ts';
import { startAzurite, type AzuriteServer } from '../support/azurite-server.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';

// The Azure Blob adapter against Azurite (the Azure Storage emulator, on 127.0.0.1, telemetry
// off): what the contract suite does not cover — paging, block uploads, retries, the account
// mode that reads flow logs where Azure writes them — and credentials from the environment.
describe('the Azure Blob Storage adapter', () => {
  let server: AzuriteServer;
  let scratch: string;
  const storeFor = (overrides: Partial<AzureBlobStoreConfig> = {}, options: { listPageSize?: number; accountUrl?: string } = {}): ObjectStore => {
    const config: AzureBlobStoreConfig = {
      type: 'azure_blob',
      account_url: options.accountUrl ?? server.accountUrl,
      container: 'lake',
      prefix: '',
      max_attempts: 4,
      block_upload_threshold_mb: 1,
      block_size_mb: 1,
      ...overrides,
    };
    return new AzureBlobStore(config, { serviceClient: createServiceClient(config, server.env), ...(options.listPageSize ? { listPageSize: options.listPageSize } : {}) });
  };

  beforeAll(async () => {
    server = await startAzurite();
    await server.createContainer('lake');
    scratch = await mkdtemp(path.join(tmpdir(), 'netflow-azure-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists across pages in key order', async () => {
    const store = storeFor({ prefix: 'paging/' }, { listPageSize: 100 });
    const keys = Array.from({ length: 250 }, (_, i) => `raw/k-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((key) => store.putBytes(key, key)));
    const listed: string[] = [];
    for await (const object of store.list('raw/')) listed.push(object.key);
    expect(listed).toEqual(keys);
  });

  it('uploads a file above the threshold as staged blocks, with createOnly on the commit', async () => {
    const store = storeFor({ prefix: 'blocks/' });
    const file = path.join(scratch, 'big.parquet');
    const body = randomBytes(3 * 1024 * 1024 + 12345);
    await writeFile(file, body);
    const put = await store.putFile('curated/flows/version=a/part-00000.parquet', file, { createOnly: true });
    expect(put.size).toBe(body.length);
    await store.getToFile('curated/flows/version=a/part-00000.parquet', path.join(scratch, 'back.parquet'));
    expect((await readFile(path.join(scratch, 'back.parquet'))).equals(body)).toBe(true);
    await expect(store.putFile('curated/flows/version=a/part-00000.parquet', file, { createOnly: true })).rejects.toBeInstanceOf(ObjectExistsError);
  });

  it('retries 500, 503 and dropped connections', async () => {
    const proxy: FaultProxy = await startFaultProxy(new URL(server.accountUrl).origin);
    try {
      const store = storeFor({ prefix: 'faults/' }, { accountUrl: `${proxy.endpoint}/${server.accountName}` });
      proxy.schedule(['internal-error', 'slow-down', 'reset']);
      await store.putBytes('a.json', '{"a":1}');
      proxy.schedule(['reset', 'internal-error']);
      expect((await store.getBytes('a.json'))?.toString()).toBe('{"a":1}');
      proxy.schedule(['slow-down']);
      const keys: string[] = [];
      for await (const object of store.list('')) keys.push(object.key);
      expect(keys).toEqual(['a.json']);
      expect(proxy.counters.injected).toMatchObject({ 'internal-error': 2, 'slow-down': 2, reset: 2 });
    } finally {
      await proxy.stop();
    }
  });

  it('spans the account without a container: NSG flow logs are discovered where Azure writes them, curated objects get their own container', async () => {
    const store = storeFor({ container: undefined });
    await server.createContainer('insights-logs-networksecuritygroupflowevent');
    const blob =
      'resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3AF87856/PT1H.json';
    // Written the way Azure writes it: straight into the account's flow log container.
    await createServiceClient({ type: 'azure_blob', account_url: server.accountUrl, prefix: '', max_attempts: 1, block_upload_threshold_mb: 16, block_size_mb: 8 }, server.env)
      .getContainerClient('insights-logs-networksecuritygroupflowevent')
      .getBlockBlobClient(blob)
      .upload('{"records":[]}', 14);
    const config = configSchema.parse({ sources: { azure_nsg: { enabled: true, prefix: 'insights-logs-networksecuritygroupflowevent/resourceId=/' } } });
    const found = await discoverObjects(store, config, new Date('2024-05-01T13:00:00Z'));
    expect(found.map((object) => `${object.sourceType} ${object.key}`)).toEqual([`azure_nsg insights-logs-networksecuritygroupflowevent/${blob}`]);

    await store.putBytes('curated/flows/dt=2024-05-01/hour=13/_manifest.json', '{}');
    const curated: string[] = [];
    for await (const object of store.list('cur')) curated.push(object.key);
    expect(curated).toEqual(['curated/flows/dt=2024-05-01/hour=13/_manifest.json']);
    await expect(store.putBytes('UPPER/x', 'x')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.putBytes('no-blob-name', 'x')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('takes credentials from the environment only, and says which variables when there are none', () => {
    const config = configSchema.parse({ store: { type: 'azure_blob', account_url: server.accountUrl, container: 'lake' } }).store;
    const saved = { ...process.env };
    try {
      Object.assign(process.env, server.env);
      expect(createObjectStore(config)).toBeInstanceOf(AzureBlobStore);
      for (const name of ['AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN', 'AZURE_STORAGE_CONNECTION_STRING']) delete process.env[name];
      expect(() => createObjectStore(config)).toThrow(/AZURE_STORAGE_KEY .*AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING/);
      process.env['AZURE_STORAGE_CONNECTION_STRING'] = `DefaultEndpointsProtocol=http;AccountName=${server.accountName};AccountKey=${server.accountKey};BlobEndpoint=${server.accountUrl};`;
      expect(createObjectStore(config).description).toBe(`azure://${new URL(server.accountUrl).host}/${server.accountName}/lake/`);
    } finally {
      process.env = saved;
    }
  });
});
