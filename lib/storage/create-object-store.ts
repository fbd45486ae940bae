import path from 'node:path';
import type { StoreConfig } from '../../schemas/config.ts';
import { AzureBlobStore } from './azure-blob-store.ts';
import { LocalFolderStore } from './local-folder-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.ts';

export interface CreateObjectStoreOptions {
  /** Folder that a relative local store path is resolved against (the config file's folder); default: cwd. */
  baseDir?: string;
  /** Passed to the S3 adapter (an injected client, a logger). */
  s3?: S3ObjectStoreOptions;
}

/** The object store a validated configuration names. Does no I/O. */
export function createObjectStore(config: StoreConfig, options: CreateObjectStoreOptions = {}): ObjectStore {
  switch (config.type) {
    case 'local':
      return new LocalFolderStore(path.resolve(options.baseDir ?? process.cwd(), config.path));
    case 's3':
      return new S3ObjectStore(config, options.s3);
    case 'azure_blob':
      return new AzureBlobStore(config);
    default: {
      const unknown: never = config;
      throw new Error(`unknown store type: ${JSON.stringify((unknown as { type?: unknown }).type)}`);
    }
  }
}
