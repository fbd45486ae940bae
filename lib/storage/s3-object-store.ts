import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type GetObjectCommandOutput,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import type { S3StoreConfig } from '../../schemas/config.ts';
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
import { attemptsOf, describeCause, isConditionFailure, isMissingObject, S3RequestError } from './s3-request-error.ts';

const MIB = 1024 * 1024;
const MAX_PARTS = 10_000;

export interface S3ObjectStoreOptions {
  /** A ready client (shared connection pool, tests); built from the config when absent. */
  client?: S3Client;
  /** Backoff of the adapter's own retries of downloads whose body fails after the headers. */
  bodyRetryBaseDelayMs?: number;
  bodyRetryMaxDelayMs?: number;
  /** Parts of one multipart upload in flight at once (memory: this many parts are buffered). */
  partConcurrency?: number;
  /** Told about retried downloads and about multipart uploads that could not be aborted. */
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * Objects in an S3 bucket (or an S3-compatible store) under an optional key prefix.
 *
 * Credentials come only from the SDK's default chain (environment, shared config and credentials
 * files, SSO, web identity, container and instance metadata), never from our configuration file.
 * Requests use the SDK's standard retry strategy with `max_attempts`; a download whose body dies
 * after the headers arrived, which the SDK cannot retry, is retried here with the same bound.
 * Every body sent is a Buffer, so that the SDK can resend it on a retry (a consumed stream could
 * not be resent): a single PUT holds the file in memory, below `multipart_threshold_mb`, and a
 * multipart upload holds `partConcurrency` parts of `part_size_mb`.
 *
 * The ObjectInfo a put returns carries the store's ETag but the local clock as lastModified (a
 * PUT answer has no Last-Modified); head() and list() give the store's own time.
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly maxAttempts: number;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly conditionalWrites: boolean;
  private readonly encryption: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string };
  private readonly bodyRetryBaseDelayMs: number;
  private readonly bodyRetryMaxDelayMs: number;
  private readonly partConcurrency: number;
  private readonly logger: S3ObjectStoreOptions['logger'];

  constructor(config: S3StoreConfig, options: S3ObjectStoreOptions = {}) {
    this.bucket = config.bucket;
    this.prefix = normalizePrefix(config.prefix);
    this.maxAttempts = config.max_attempts;
    this.multipartThreshold = config.multipart_threshold_mb * MIB;
    this.partSize = config.part_size_mb * MIB;
    this.conditionalWrites = config.conditional_writes;
    const sse = config.server_side_encryption;
    this.encryption = sse ? { ServerSideEncryption: sse.type, ...(sse.kms_key_id ? { SSEKMSKeyId: sse.kms_key_id } : {}) } : {};
    this.bodyRetryBaseDelayMs = options.bodyRetryBaseDelayMs ?? 200;
    this.bodyRetryMaxDelayMs = options.bodyRetryMaxDelayMs ?? 5_000;
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.logger = options.logger;
    this.client = options.client ?? createS3Client(config);
    this.ownsClient = options.client === undefined;
    this.description = describeLocation(config.bucket, this.prefix, config.endpoint);
  }

  /** Closes the connection pool of a client this store created (an injected one is left alone). */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    yield* objectsOnly(this.listPages(prefix, undefined, options));
  }

  async *listChildren(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo | FolderInfo> {
    yield* this.listPages(prefix, '/', options);
  }

  /** ListObjectsV2 pages: objects, and with a delimiter the CommonPrefixes, each page in key order. */
  private async *listPages(prefix: string, delimiter: string | undefined, options: ListOptions): AsyncIterable<ObjectInfo | FolderInfo> {
    listingFolder(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token, Delimiter: delimiter }));
      } catch (error) {
        throw this.failure('list', prefix, error);
      }
      countListingRequest(options, (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
      const entries: (ObjectInfo | FolderInfo)[] = [];
      for (const common of page.CommonPrefixes ?? []) {
        const folder = (common.Prefix ?? '').slice(this.prefix.length);
        if (common.Prefix?.startsWith(this.prefix) && folder) entries.push({ folder });
      }
      for (const object of page.Contents ?? []) {
        const fullKey = object.Key ?? '';
        // A store that answers outside the prefix asked for is broken, not one bad object.
        if (!fullKey.startsWith(this.prefix)) {
          throw new InvalidKeyError(fullKey, `listed outside the store prefix ${JSON.stringify(this.prefix)}`);
        }
        const key = fullKey.slice(this.prefix.length);
        // Zero-byte keys ending in '/' are "folders" made by consoles and tools: not objects.
        if (key.endsWith('/') && (object.Size ?? 0) === 0) continue;
        // Listed keys are written by other parties: one that could escape a folder is marked, never fetched.
        entries.push(listedObject(key, object.Size ?? 0, object.ETag ?? '', object.LastModified ?? new Date(0)));
      }
      yield* delimiter ? entries.sort(byListingKey) : entries;
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new S3RequestError('list', prefix, this.location(prefix), undefined, {
          detail: 'the listing was truncated without a continuation token',
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const fullKey = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw this.failure('head', key, error);
    }
  }

  async getToFile(key: string, localPath: string, options: GetOptions = {}): Promise<ObjectInfo> {
    this.objectKey(key);
    const info = await this.download(key, () => new TempFileSink(localPath), options.ifMatch);
    if (!info) throw new ObjectNotFoundError(key);
    return info;
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    this.objectKey(key);
    let sink: MemorySink | undefined;
    const info = await this.download(key, () => (sink = new MemorySink()));
    return info && sink ? sink.bytes : undefined;
  }

  async putBytes(key: string, body: Buffer | string, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.putSingle(key, typeof body === 'string' ? Buffer.from(body) : body, options);
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<ObjectInfo> {
    this.objectKey(key);
    const { size } = await stat(localPath);
    if (size < this.multipartThreshold) return this.putSingle(key, await readFile(localPath), options);
    return this.putMultipart(key, localPath, size, options);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (error) {
      if (isMissingObject(error)) return;
      throw this.failure('delete', key, error);
    }
  }

  /**
   * GET with a bounded retry of the body: the SDK retries failures up to the response headers,
   * but a body that breaks off later (connection reset, truncation) surfaces only while it is
   * read. A body shorter or longer than its Content-Length is a failure too, never a short file.
   * Each attempt writes to a fresh sink, committed only when complete. Undefined when absent.
   */
  private async download(key: string, newSink: () => DownloadSink, ifMatch?: string): Promise<ObjectInfo | undefined> {
    const fullKey = this.objectKey(key);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      let response: GetObjectCommandOutput;
      try {
        response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, IfMatch: ifMatch }));
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        if (ifMatch !== undefined && isConditionFailure(error)) throw new ObjectChangedError(key, ifMatch, undefined, { cause: error });
        throw this.failure('get', key, error);
      }
      const body = response.Body;
      if (!(body instanceof Readable)) {
        throw new S3RequestError('get', key, this.location(key), attempt, { detail: 'the response has no readable body' });
      }
      // Some S3-compatible servers ignore If-Match on GET: the answer's own ETag is checked too.
      if (ifMatch !== undefined && response.ETag !== undefined && normalizeEtag(response.ETag) !== normalizeEtag(ifMatch)) {
        body.destroy();
        throw new ObjectChangedError(key, ifMatch, response.ETag);
      }
      const sink = newSink();
      try {
        const received = await sink.write(body);
        const expected = response.ContentLength;
        if (expected !== undefined && received !== expected) throw new TruncatedBodyError(expected, received);
        await sink.commit().catch((error: unknown) => {
          throw new LocalWriteError(error);
        });
        return { key, size: received, etag: response.ETag ?? '', lastModified: response.LastModified ?? new Date(0) };
      } catch (error) {
        body.destroy();
        await sink.discard();
        if (error instanceof LocalWriteError) throw error.cause;
        lastError = error;
        if (attempt < this.maxAttempts) {
          this.logger?.warn('s3 download body failed, retrying', { key, attempt, error: describeCause(error) });
          await sleep(this.backoffMs(attempt));
        }
      }
    }
    throw new S3RequestError('get', key, this.location(key), this.maxAttempts, {
      cause: lastError,
      detail: `the response body failed on every attempt, last: ${describeCause(lastError)}`,
    });
  }

  private async putSingle(key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const fullKey = this.objectKey(key);
    if (options.createOnly && !this.conditionalWrites) await this.refuseExisting(key);
    const md5 = createHash('md5').update(body).digest();
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: fullKey,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5.toString('base64'),
          ContentType: options.contentType,
          IfNoneMatch: this.ifNoneMatch(options),
          ...this.encryption,
        }),
      );
      return { key, size: body.length, etag: out.ETag ?? `"${md5.toString('hex')}"`, lastModified: new Date() };
    } catch (error) {
      if (options.createOnly && isConditionFailure(error)) {
        return this.resolveConflict(key, error, `"${md5.toString('hex')}"`, body.length);
      }
      throw this.failure('put', key, error);
    }
  }

  private async putMultipart(key: string, localPath: string, size: number, options: PutOptions): Promise<ObjectInfo> {
    const fullKey = this.objectKey(key);
    const partCount = Math.ceil(size / this.partSize);
    if (partCount > MAX_PARTS) {
      throw new S3RequestError('put', key, this.location(key), undefined, {
        detail: `${localPath} (${size} bytes) needs ${partCount} parts of part_size_mb; S3 allows ${MAX_PARTS}`,
      });
    }
    // Fails fast before uploading; with conditional writes the conditional Complete is the real guard.
    if (options.createOnly) await this.refuseExisting(key);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, ContentType: options.contentType, ...this.encryption }));
      uploadId = created.UploadId;
    } catch (error) {
      throw this.failure('create multipart upload', key, error);
    }
    if (!uploadId) {
      throw new S3RequestError('create multipart upload', key, this.location(key), undefined, { detail: 'no UploadId in the answer' });
    }

    let parts: CompletedPart[] = [];
    let completing = false;
    try {
      parts = await this.uploadParts(key, fullKey, uploadId, localPath, size, partCount);
      completing = true;
      const out = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: fullKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: this.ifNoneMatch(options),
        }),
      );
      return { key, size, etag: out.ETag ?? multipartEtag(parts), lastModified: new Date() };
    } catch (error) {
      const abortError = await this.abortUpload(key, fullKey, uploadId);
      if (options.createOnly && isConditionFailure(error)) {
        return this.resolveConflict(key, abortError ? new AggregateError([error, abortError]) : error, multipartEtag(parts), size);
      }
      const failure = error instanceof S3RequestError ? error : this.failure(completing ? 'complete multipart upload' : 'put', key, error);
      if (!abortError) throw failure;
      throw new S3RequestError('put', key, this.location(key), undefined, {
        cause: new AggregateError([failure, abortError]),
        detail: `${failure.message}; and multipart upload ${uploadId} could not be aborted (${describeCause(abortError)}): it stays open until aborted or removed by a lifecycle rule`,
      });
    }
  }

  private async uploadParts(key: string, fullKey: string, uploadId: string, localPath: string, size: number, partCount: number): Promise<CompletedPart[]> {
    const file = await open(localPath, 'r');
    try {
      const parts: CompletedPart[] = new Array(partCount);
      let next = 0;
      let failed = false;
      const uploadPart = async (index: number): Promise<void> => {
        const offset = index * this.partSize;
        const body = await readExactly(file, offset, Math.min(this.partSize, size - offset), localPath);
        try {
          const out = await this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: fullKey,
              UploadId: uploadId,
              PartNumber: index + 1,
              Body: body,
              ContentLength: body.length,
              ContentMD5: createHash('md5').update(body).digest('base64'),
            }),
          );
          parts[index] = { PartNumber: index + 1, ETag: out.ETag };
        } catch (error) {
          throw this.failure(`upload part ${index + 1} of ${partCount}`, key, error);
        }
      };
      const worker = async (): Promise<void> => {
        while (!failed && next < partCount) {
          const index = next;
          next += 1;
          try {
            await uploadPart(index);
          } catch (error) {
            // The other workers finish the part they hold and take no new one.
            failed = true;
            throw error;
          }
        }
      };
      // Wait for every worker (not just the first failure) so that no part lands after the abort.
      const results = await Promise.allSettled(Array.from({ length: Math.min(this.partConcurrency, partCount) }, worker));
      const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (rejected) throw rejected.reason;
      const { size: sizeNow } = await file.stat();
      if (sizeNow !== size) {
        throw new S3RequestError('put', key, this.location(key), undefined, {
          detail: `${localPath} changed size while it was uploaded (${size} → ${sizeNow} bytes)`,
        });
      }
      return parts;
    } finally {
      await file.close();
    }
  }

  /** Returns the error when the upload could not be aborted; an upload already gone counts as aborted. */
  private async abortUpload(key: string, fullKey: string, uploadId: string): Promise<unknown> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, UploadId: uploadId }));
      return undefined;
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      this.logger?.warn('s3 multipart upload left open', { key, uploadId, error: describeCause(error) });
      return error;
    }
  }

  /**
   * A conditional write lost. When the SDK retried it, the first attempt may have reached the
   * store before its connection failed: then the object that "already exists" is our own, which
   * its ETag tells (the MD5 of a single PUT, or S3's MD5-of-part-MD5s for a multipart upload;
   * with SSE-KMS neither holds, and the conflict is reported as lost).
   */
  private async resolveConflict(key: string, error: unknown, expectedEtag: string, size: number): Promise<ObjectInfo> {
    const attempts = attemptsOf(error instanceof AggregateError ? error.errors[0] : error) ?? 1;
    if (attempts > 1) {
      const existing = await this.head(key);
      if (existing && existing.size === size && normalizeEtag(existing.etag) === normalizeEtag(expectedEtag)) return existing;
    }
    throw new ObjectExistsError(key, { cause: error });
  }

  /**
   * createOnly for stores without conditional writes: HEAD, then PUT. This is NOT race-free: two
   * writers can both see no object and both write, and the last one wins.
   */
  private async refuseExisting(key: string): Promise<void> {
    if (await this.head(key)) throw new ObjectExistsError(key);
  }

  private ifNoneMatch(options: PutOptions): string | undefined {
    return options.createOnly && this.conditionalWrites ? '*' : undefined;
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.prefix + key;
  }

  private location(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  private failure(operation: string, key: string, error: unknown): Error {
    if (error instanceof S3RequestError) return error;
    return new S3RequestError(operation, key, this.location(key), attemptsOf(error), { cause: error });
  }

  /** Exponential backoff with full jitter. */
  private backoffMs(attempt: number): number {
    return Math.random() * Math.min(this.bodyRetryMaxDelayMs, this.bodyRetryBaseDelayMs * 2 ** (attempt - 1));
  }
}

/**
 * The SDK client for a store configuration. For a custom endpoint, request and response
 * checksums are sent and checked only where the operation requires them: since early 2025 the
 * SDK adds CRC32 checksums (and aws-chunked uploads) by default, which many S3-compatible stores
 * (GCS, OCI, older MinIO and Ceph releases) reject or store wrongly. Content-MD5 still guards
 * every PUT and part.
 */
export function createS3Client(config: S3StoreConfig): S3Client {
  return new S3Client({
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    forcePathStyle: config.force_path_style,
    maxAttempts: config.max_attempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
  });
}

/** Where one download attempt's body goes. */
interface DownloadSink {
  /** Consumes the body; resolves with the number of bytes received. */
  write(body: Readable): Promise<number>;
  /** Makes the bytes visible, once they are known to be complete. */
  commit(): Promise<void>;
  /** Throws a failed attempt's bytes away. */
  discard(): Promise<void>;
}

/** Writes to a temporary file beside the target and renames it into place. */
class TempFileSink implements DownloadSink {
  private readonly temp: string;
  private writer: WriteStream | undefined;

  constructor(private readonly localPath: string) {
    this.temp = `${localPath}.${randomUUID()}.part`;
  }

  async write(body: Readable): Promise<number> {
    await mkdir(path.dirname(this.localPath), { recursive: true }).catch((error: unknown) => {
      throw new LocalWriteError(error);
    });
    const writer = createWriteStream(this.temp, { flags: 'wx' });
    this.writer = writer;
    let writerError: unknown;
    writer.on('error', (error) => (writerError ??= error));
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, writer);
    } catch (error) {
      // A local write failure (disk full, permissions) is not the network's: it is not retried.
      if (writerError !== undefined && error === writerError) throw new LocalWriteError(error);
      throw error;
    }
    return received;
  }

  commit(): Promise<void> {
    return rename(this.temp, this.localPath);
  }

  async discard(): Promise<void> {
    // A body that fails at once fails while the file may still be opening, and the stream
    // creates it afterwards: wait until the stream has closed it, so that the removal does not
    // race its creation (a .part file was left behind).
    const writer = this.writer;
    if (writer && !writer.closed) await new Promise<void>((resolve) => writer.once('close', () => resolve()));
    await rm(this.temp, { force: true });
  }
}

class MemorySink implements DownloadSink {
  bytes = Buffer.alloc(0);

  async write(body: Readable): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.bytes = Buffer.concat(chunks);
    return this.bytes.length;
  }

  async commit(): Promise<void> {}

  async discard(): Promise<void> {
    this.bytes = Buffer.alloc(0);
  }
}

class TruncatedBodyError extends Error {
  constructor(expected: number, received: number) {
    super(`response body has ${received} bytes, Content-Length said ${expected}`);
    this.name = 'TruncatedBodyError';
  }
}

class LocalWriteError extends Error {
  constructor(cause: unknown) {
    super('local write failed', { cause });
  }
}

async function readExactly(file: FileHandle, offset: number, length: number, localPath: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) throw new Error(`${localPath} ended at ${offset + filled} bytes while it was uploaded`);
    filled += bytesRead;
  }
  return buffer;
}

function normalizePrefix(prefix: string): string {
  if (prefix === '') return '';
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  assertSafeKey(withSlash.slice(0, -1));
  return withSlash;
}

function describeLocation(bucket: string, prefix: string, endpoint: string | undefined): string {
  const location = `s3://${bucket}/${prefix}`;
  if (!endpoint) return location;
  // Only scheme, host and path: user info and query strings may carry secrets.
  const url = new URL(endpoint);
  const base = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  return `${location} at ${base}`;
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replaceAll('"', '').toLowerCase();
}

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then "-<part count>". */
function multipartEtag(parts: CompletedPart[]): string {
  const hash = createHash('md5');
  for (const part of parts) hash.update(Buffer.from(normalizeEtag(part.ETag ?? ''), 'hex'));
  return `"${hash.digest('hex')}-${parts.length}"`;
}
