import { createHash } from 'node:crypto';

/**
 * The object store port. Every job reaches raw, curated, quarantine and alert objects through
 * this interface and never through `fs`, so that a local folder, S3 (and S3-compatible stores)
 * and Azure Blob are configuration choices, not code changes.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Changes whenever the object's content may have changed (S3 ETag, or a weak local one). */
  etag: string;
  lastModified: Date;
  /**
   * Set by a listing for a key that fails `assertSafeKey` (why it failed): `key` is then
   * `renderUnsafeKey` of the listed key, never fetched, only quarantined by that name.
   */
  unsafeKey?: string;
}

/** A folder directly under a listed prefix (S3 CommonPrefixes, Azure BlobPrefix, a directory). */
export interface FolderInfo {
  /** The full prefix, ending in '/'. */
  folder: string;
}

/** Orders listing entries by key, a folder by its prefix (as S3 orders Contents and CommonPrefixes together). */
export function byListingKey(a: ObjectInfo | FolderInfo, b: ObjectInfo | FolderInfo): number {
  const keyA = 'folder' in a ? a.folder : a.key;
  const keyB = 'folder' in b ? b.folder : b.key;
  return keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
}

/** What listings cost, added up by the caller across calls (a run's discovery). */
export interface ListingCost {
  /** Requests to the store (S3 ListObjectsV2 pages, Azure List Blobs pages, local directory reads). */
  requests: number;
  /** Keys and folders the store returned. */
  keys: number;
}

export interface ListOptions {
  /** Incremented with each request and each key or folder returned. */
  cost?: ListingCost;
  /** Told once per call about each entry skipped that is not an object (a local symlink). */
  onSkipped?: (key: string, why: string) => void;
}

export interface PutOptions {
  contentType?: string;
  /** Fail with ObjectExistsError instead of overwriting (S3 `If-None-Match: *`). */
  createOnly?: boolean;
}

export interface GetOptions {
  /**
   * The ETag the object was listed with: the download fails with ObjectChangedError instead of
   * returning other bytes when the object has been rewritten since (S3 `If-Match`, Azure
   * `ifMatch`, a local file's size and modification time).
   */
  ifMatch?: string;
}

export interface ObjectStore {
  /** Human-readable location, safe to log (never contains credentials). */
  readonly description: string;
  /** Every object whose key starts with `prefix`, in lexicographic key order. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  /**
   * The objects and folders directly under `prefix` (a delimiter '/' listing), in key order.
   * Optional: discovery lists a store without it whole under the prefix (lib/sources/list-layout.ts).
   */
  listChildren?(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo | FolderInfo>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Downloads to `localPath` (written atomically); throws ObjectNotFoundError when absent. */
  getToFile(key: string, localPath: string, options?: GetOptions): Promise<ObjectInfo>;
  /** Reads a small object (manifests, ledgers) into memory; undefined when absent. */
  getBytes(key: string): Promise<Buffer | undefined>;
  putFile(key: string, localPath: string, options?: PutOptions): Promise<ObjectInfo>;
  putBytes(key: string, body: Buffer | string, options?: PutOptions): Promise<ObjectInfo>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * The object's path on this machine when the store is a local folder, so readers (DuckDB)
   * can read it in place instead of copying; undefined for remote stores.
   */
  localPathOf?(key: string): string | undefined;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`object not found: ${key}`, options);
    this.name = 'ObjectNotFoundError';
  }
}

export class ObjectExistsError extends Error {
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`object already exists: ${key}`, options);
    this.name = 'ObjectExistsError';
  }
}

/** The object's ETag is no longer the one a download was pinned to (GetOptions.ifMatch). */
export class ObjectChangedError extends Error {
  constructor(
    readonly key: string,
    readonly expectedEtag: string,
    readonly actualEtag: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`object changed since it was listed: ${key} (listed ETag ${expectedEtag}, now ${actualEtag ?? 'another'})`, options);
    this.name = 'ObjectChangedError';
  }
}

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid object key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** Why a key is unsafe, or undefined when `assertSafeKey` accepts it. */
export function unsafeKeyReason(key: string): string | undefined {
  try {
    assertSafeKey(key);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidKeyError) return error.reason;
    throw error;
  }
}

const RENDER_LIMIT = 512;

/**
 * A listed key that fails `assertSafeKey`, as text safe to store, log and print: `%`, backslash,
 * control and bidi characters percent-encoded (so decoding gives the key back), a `.`/`..`
 * segment or a leading '/' encoded too, and a key past 512 characters cut in the middle, with the
 * length and a hash of the whole. It names the object in quarantine and in the ledger; it is never fetched.
 */
export function renderUnsafeKey(key: string): string {
  const encoded = key
    .replace(/[%\\\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (char) => encodeURIComponent(char))
    .split('/')
    .map((segment) => (segment === '..' ? '%2E%2E' : segment === '.' ? '%2E' : segment))
    .join('/')
    .replace(/^\//, '%2F');
  if (encoded.length <= RENDER_LIMIT) return encoded;
  // The end is kept: it holds the file name that a source recognises (and the window's date).
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${encoded.slice(0, RENDER_LIMIT - 128)}…(${Buffer.byteLength(key)} bytes, sha256 ${digest})…${encoded.slice(-128)}`;
}

/** The listing entry of a listed key: as it is when safe, else rendered and marked (a listing never throws for one key). */
export function listedObject(key: string, size: number, etag: string, lastModified: Date): ObjectInfo {
  const unsafe = unsafeKeyReason(key);
  return unsafe === undefined ? { key, size, etag, lastModified } : { key: renderUnsafeKey(key), size, etag, lastModified, unsafeKey: unsafe };
}

/**
 * Object keys come from listings of stores that other parties write to, so they are untrusted:
 * a key that could escape a folder when mapped to a path is refused everywhere.
 */
export function assertSafeKey(key: string): void {
  if (key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (Buffer.byteLength(key) > 1024) throw new InvalidKeyError(key, 'longer than 1024 bytes');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'absolute');
  if (key.includes('\\') || key.includes('\0')) throw new InvalidKeyError(key, 'backslash or NUL');
  for (const segment of key.split('/')) {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // A segment that is not valid percent-encoding cannot decode to '..'.
    }
    if (decoded === '..' || decoded === '.') throw new InvalidKeyError(key, `segment ${JSON.stringify(segment)}`);
  }
}
