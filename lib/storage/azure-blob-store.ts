import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AnonymousCredential, BlobServiceClient, RestError, StorageSharedKeyCredential, type BlockBlobParallelUploadOptions, type ContainerClient } from '@azure/storage-blob';
import type { AzureBlobStoreConfig } from '../../schemas/config.ts';
import { redactSecrets } from '../log/redact.ts';
import {
  assertSafeKey,
  InvalidKeyError,
  byListingKey,
  listedObject,
  ObjectChangedError,
  ObjectExistsError,
  ObjectNotFoundError,
  type FolderInfo,
  type GetOptions,
  type ListOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';
import { countListingRequest, listingFolder, objectsOnly } from './listing.ts';

const MIB = 1024 * 1024;

export interface AzureBlobStoreOptions {
  /** A ready service client (tests, a shared pipeline); built from the config and environment when absent. */
  serviceClient?: BlobServiceClient;
  /** Where credentials are looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Blobs per listing page (the service's maximum, 5,000, by default). */
  listPageSize?: number;
}

/** Azure's container names: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Objects in an Azure Blob Storage container under an optional name prefix, so that Azure NSG
 * and VNet flow logs are read from the storage account they are written to.
 *
 * Credentials come from the environment, never from the configuration file, in this order:
 * `AZURE_STORAGE_KEY` (shared key; account name from `AZURE_STORAGE_ACCOUNT` or the URL),
 * `AZURE_STORAGE_SAS_TOKEN`, `AZURE_STORAGE_CONNECTION_STRING` (its AccountKey or
 * SharedAccessSignature). Requests use the SDK's exponential retry policy with `max_attempts`
 * (it retries 5xx, 503 ServerBusy, timeouts and dropped connections).
 *
 * `createOnly` sends `If-None-Match: *`, which Blob Storage enforces on Put Blob and on Put
 * Block List: exactly one of concurrent writers wins, the others get ObjectExistsError.
 *
 * With `container` set, keys are blob names in that container (after `prefix`). Without it the
 * store spans the storage account: a key's first segment names the container and the rest is the
 * blob name, so `insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/…` is the
 * NSG flow log blob exactly where Azure writes it, and `curated/flows/…` lands in a `curated`
 * container (created on first write).
 */
export class AzureBlobStore implements ObjectStore {
  readonly description: string;
  private readonly service: BlobServiceClient;
  private readonly container: ContainerClient | undefined;
  private readonly prefix: string;
  private readonly listPageSize: number;
  private readonly created = new Set<string>();
  private readonly blockThreshold: number;
  private readonly blockSize: number;

  constructor(
    private readonly config: AzureBlobStoreConfig,
    options: AzureBlobStoreOptions = {},
  ) {
    this.prefix = config.prefix && !config.prefix.endsWith('/') ? `${config.prefix}/` : config.prefix;
    this.blockThreshold = config.block_upload_threshold_mb * MIB;
    this.blockSize = config.block_size_mb * MIB;
    this.service = options.serviceClient ?? createServiceClient(config, options.env ?? process.env);
    this.container = config.container ? this.service.getContainerClient(config.container) : undefined;
    this.listPageSize = options.listPageSize ?? 5000;
    const url = new URL(config.account_url);
    this.description = `azure://${url.host}${url.pathname.replace(/\/$/, '')}/${config.container ? `${config.container}/` : ''}${this.prefix}`;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    yield* objectsOnly(this.listAny(prefix, false, options));
  }

  listChildren(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo | FolderInfo> {
    return this.listAny(prefix, true, options);
  }

  private async *listAny(prefix: string, byFolder: boolean, options: ListOptions): AsyncIterable<ObjectInfo | FolderInfo> {
    listingFolder(prefix);
    if (this.container) {
      yield* this.listContainer(this.container, '', prefix, byFolder, options);
      return;
    }
    const first = prefix.indexOf('/');
    if (first >= 0) {
      const name = prefix.slice(0, first);
      if (!CONTAINER_NAME.test(name)) return;
      yield* this.listContainer(this.service.getContainerClient(name), `${name}/`, prefix.slice(first + 1), byFolder, options);
      return;
    }
    // A prefix within the container names: every matching container, in the order of their keys.
    const names: string[] = [];
    for await (const page of this.service.listContainers({ prefix }).byPage()) {
      countListingRequest(options, page.containerItems.length);
      names.push(...page.containerItems.map((container) => container.name));
    }
    names.sort((a, b) => (`${a}/` < `${b}/` ? -1 : 1));
    for (const name of names) {
      if (byFolder) yield { folder: `${name}/` };
      else yield* this.listContainer(this.service.getContainerClient(name), `${name}/`, '', false, options);
    }
  }

  private async *listContainer(container: ContainerClient, keyPrefix: string, blobPrefix: string, byFolder: boolean, options: ListOptions): AsyncIterable<ObjectInfo | FolderInfo> {
    const listing = byFolder
      ? container.listBlobsByHierarchy('/', { prefix: this.prefix + blobPrefix, includeMetadata: true })
      : container.listBlobsFlat({ prefix: this.prefix + blobPrefix, includeMetadata: true });
    try {
      for await (const page of listing.byPage({ maxPageSize: this.listPageSize })) {
        const blobItems = page.segment.blobItems;
        const folders: { name: string }[] = 'blobPrefixes' in page.segment ? ((page.segment as { blobPrefixes?: { name: string }[] }).blobPrefixes ?? []) : [];
        countListingRequest(options, blobItems.length + folders.length);
        const entries: (ObjectInfo | FolderInfo)[] = folders.map((folder) => ({ folder: keyPrefix + folder.name.slice(this.prefix.length) }));
        for (const blob of blobItems) {
          const size = blob.properties.contentLength ?? 0;
          // Hierarchical-namespace accounts list their directories as empty blobs.
          if (size === 0 && (blob.name.endsWith('/') || blob.metadata?.['hdi_isfolder'] === 'true')) continue;
          // Listed names are written by other parties: one that could escape a folder is marked, never fetched.
          entries.push(listedObject(keyPrefix + blob.name.slice(this.prefix.length), size, quoted(blob.properties.etag), blob.properties.lastModified));
        }
        yield* byFolder ? entries.sort(byListingKey) : entries;
      }
    } catch (error) {
      if (isMissingContainer(error)) return;
      throw this.wrap('list', keyPrefix + blobPrefix, error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const properties = await this.blob(key).getProperties();
      return { key, size: properties.contentLength ?? 0, etag: quoted(properties.etag), lastModified: properties.lastModified ?? new Date() };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.wrap('head', key, error);
    }
  }

  async getToFile(key: string, localPath: string, options: GetOptions = {}): Promise<ObjectInfo> {
    await mkdir(path.dirname(localPath), { recursive: true });
    const temp = `${localPath}.${randomUUID()}.part`;
    try {
      // A PT1H.json block blob grows all hour: pinned to the listed ETag, a download never
      // returns a later version under the listed one's name (412 instead).
      const conditions = options.ifMatch !== undefined ? { conditions: { ifMatch: options.ifMatch } } : {};
      const response = await this.blob(key).downloadToFile(temp, undefined, undefined, conditions);
      const size = (await stat(temp)).size;
      if (response.contentLength !== undefined && size !== response.contentLength) {
        throw new Error(`download of ${this.url(key)} stopped at ${size} of ${response.contentLength} bytes`);
      }
      await rename(temp, localPath);
      return { key, size, etag: quoted(response.etag), lastModified: response.lastModified ?? new Date() };
    } catch (error) {
      await rm(temp, { force: true });
      if (isNotFound(error)) throw new ObjectNotFoundError(key, { cause: error });
      if (options.ifMatch !== undefined && error instanceof RestError && error.statusCode === 412) throw new ObjectChangedError(key, options.ifMatch, undefined, { cause: error });
      throw this.wrap('download', key, error);
    }
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      return await this.blob(key).downloadToBuffer();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.wrap('download', key, error);
    }
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<ObjectInfo> {
    const size = (await stat(localPath)).size;
    if (size < this.blockThreshold) return this.putBytes(key, await readFile(localPath), options);
    const upload: BlockBlobParallelUploadOptions = {
      blockSize: this.blockSize,
      concurrency: 4,
      ...(options.contentType ? { blobHTTPHeaders: { blobContentType: options.contentType } } : {}),
      ...(options.createOnly ? { conditions: { ifNoneMatch: '*' } } : {}),
    };
    try {
      const response = await this.writing(key, () => this.blob(key).uploadFile(localPath, upload));
      return { key, size, etag: quoted(response.etag), lastModified: response.lastModified ?? new Date() };
    } catch (error) {
      if (options.createOnly && isConditionFailure(error)) throw new ObjectExistsError(key, { cause: error });
      throw this.wrap('upload', key, error);
    }
  }

  async putBytes(key: string, body: Buffer | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    try {
      const response = await this.writing(key, () =>
        this.blob(key).upload(bytes, bytes.length, {
          ...(options.contentType ? { blobHTTPHeaders: { blobContentType: options.contentType } } : {}),
          ...(options.createOnly ? { conditions: { ifNoneMatch: '*' } } : {}),
        }),
      );
      return { key, size: bytes.length, etag: quoted(response.etag), lastModified: response.lastModified ?? new Date() };
    } catch (error) {
      if (options.createOnly && isConditionFailure(error)) throw new ObjectExistsError(key, { cause: error });
      throw this.wrap('upload', key, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.blob(key).deleteIfExists({ deleteSnapshots: 'include' });
    } catch (error) {
      throw this.wrap('delete', key, error);
    }
  }

  private blob(key: string) {
    assertSafeKey(key);
    if (this.container) return this.container.getBlockBlobClient(this.prefix + key);
    const slash = key.indexOf('/');
    const name = key.slice(0, slash);
    if (slash <= 0 || slash === key.length - 1 || !CONTAINER_NAME.test(name)) {
      throw new InvalidKeyError(key, 'without a container, a key is <container>/<blob> and the container name is 3-63 lowercase letters, digits and hyphens');
    }
    return this.service.getContainerClient(name).getBlockBlobClient(this.prefix + key.slice(slash + 1));
  }

  /** In account mode a write to a container that does not exist yet creates it and tries again. */
  private async writing<T>(key: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (this.container || !isMissingContainer(error)) throw error;
      const name = key.slice(0, key.indexOf('/'));
      if (this.created.has(name)) throw error;
      await this.service.getContainerClient(name).createIfNotExists();
      this.created.add(name);
      return write();
    }
  }

  private url(key: string): string {
    return `${this.description}${key}`;
  }

  private wrap(operation: string, key: string, error: unknown): Error {
    if (error instanceof InvalidKeyError || error instanceof ObjectNotFoundError) return error;
    const status = error instanceof RestError ? ` (HTTP ${error.statusCode ?? '-'} ${error.code ?? ''})` : '';
    // The SDK's message may quote the request URL, SAS signature included.
    return new Error(`azure blob ${operation} of ${this.url(key)} failed${status}: ${redactSecrets((error as Error).message?.split('\n')[0] ?? String(error))}`, { cause: error });
  }
}

/** The service client the config and the environment's credentials name. Does no I/O. */
export function createServiceClient(config: AzureBlobStoreConfig, env: NodeJS.ProcessEnv): BlobServiceClient {
  const url = config.account_url.replace(/\/$/, '');
  const retryOptions = { maxTries: config.max_attempts, retryDelayInMs: 500, maxRetryDelayInMs: 30_000 };
  const connection = parseConnectionString(env['AZURE_STORAGE_CONNECTION_STRING'] ?? '');
  const accountName = env['AZURE_STORAGE_ACCOUNT'] ?? connection['AccountName'] ?? accountNameOf(url);
  const key = env['AZURE_STORAGE_KEY'] ?? connection['AccountKey'];
  const sas = (env['AZURE_STORAGE_SAS_TOKEN'] ?? connection['SharedAccessSignature'] ?? '').replace(/^\?/, '');
  let service: BlobServiceClient;
  if (key) service = new BlobServiceClient(url, new StorageSharedKeyCredential(accountName, key), { retryOptions });
  else if (sas) service = new BlobServiceClient(`${url}?${sas}`, new AnonymousCredential(), { retryOptions });
  else {
    throw new Error(`no credentials for ${url}: set AZURE_STORAGE_KEY (with AZURE_STORAGE_ACCOUNT), AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING`);
  }
  return service;
}

function parseConnectionString(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return fields;
}

/** `https://<account>.blob.core.windows.net` or a path-style emulator URL `http://host:port/<account>`. */
function accountNameOf(url: string): string {
  const parsed = new URL(url);
  const pathAccount = parsed.pathname.split('/').filter(Boolean)[0];
  return pathAccount ?? parsed.hostname.split('.')[0] ?? '';
}

/** Blob listings give ETags bare, response headers quoted: one form everywhere, so they compare. */
function quoted(etag: string | undefined): string {
  if (!etag) return '';
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

function isMissingContainer(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404 && error.code === 'ContainerNotFound';
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 412 || (error.statusCode === 409 && error.code === 'BlobAlreadyExists'));
}
