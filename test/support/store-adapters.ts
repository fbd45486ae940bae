import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AzureBlobStore, createServiceClient } from '../../lib/storage/azure-blob-store.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { startAzurite, type AzuriteServer } from './azurite-server.ts';
import { startS3Server, type S3TestServer } from './s3-server.ts';

/**
 * The three object stores every store-level test runs against: a local folder, the S3 test
 * server and Azurite. Each newStore() is empty (a fresh folder, or a fresh key prefix).
 */
export interface Adapter {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  newStore(): Promise<ObjectStore>;
}

export let storeCount = 0;

/** An S3 store on the S3 test server's bucket, below `prefix`, as every S3 test configures it. */
export function s3TestStore(server: S3TestServer, prefix = ''): S3ObjectStore {
  return new S3ObjectStore({
    type: 's3',
    bucket: server.bucket,
    prefix,
    region: server.region,
    endpoint: server.endpoint,
    force_path_style: true,
    max_attempts: 3,
    multipart_threshold_mb: 16,
    part_size_mb: 16,
    conditional_writes: true,
  });
}

export const localFolder: Adapter = (() => {
  let root = '';
  return {
    name: 'local folder',
    async start() {
      root = await mkdtemp(path.join(tmpdir(), 'netflow-contract-local-'));
    },
    async stop() {
      await rm(root, { recursive: true, force: true });
    },
    async newStore() {
      storeCount += 1;
      return new LocalFolderStore(path.join(root, `store-${storeCount}`));
    },
  };
})();

export const s3: Adapter = (() => {
  let server: S3TestServer | undefined;
  const stores: S3ObjectStore[] = [];
  return {
    name: 's3 (s3rver)',
    async start() {
      server = await startS3Server();
    },
    async stop() {
      for (const store of stores) store.destroy();
      await server?.stop();
    },
    async newStore() {
      if (!server) throw new Error('s3rver is not running');
      storeCount += 1;
      const store = s3TestStore(server, `contract-${storeCount}/`);
      stores.push(store);
      return store;
    },
  };
})();

export const azure: Adapter = (() => {
  let server: AzuriteServer | undefined;
  return {
    name: 'azure blob (azurite)',
    async start() {
      server = await startAzurite();
      await server.createContainer('contract');
    },
    async stop() {
      await server?.stop();
    },
    async newStore() {
      if (!server) throw new Error('azurite is not running');
      storeCount += 1;
      const config = {
        type: 'azure_blob' as const,
        account_url: server.accountUrl,
        container: 'contract',
        prefix: `contract-${storeCount}/`,
        max_attempts: 3,
        block_upload_threshold_mb: 16,
        block_size_mb: 8,
      };
      return new AzureBlobStore(config, { serviceClient: createServiceClient(config, server.env) });
    },
  };
})();
