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
  list(prefix: string): AsyncIterable<ObjectInfo>;
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
  constructor(readonly key: string, options?: ErrorOptions) {
    super(`object not found: ${key}`, options);
    this.name = 'ObjectNotFoundError';
  }
}

export class ObjectExistsError extends Error {
  constructor(readonly key: string, options?: ErrorOptions) {
    super(`object already exists: ${key}`, options);
    this.name = 'ObjectExistsError';
  }
}

/** The object's ETag is no longer the one a download was pinned to (GetOptions.ifMatch). */
export class ObjectChangedError extends Error {
  constructor(readonly key: string, readonly expectedEtag: string, readonly actualEtag: string | undefined, options?: ErrorOptions) {
    super(`object changed since it was listed: ${key} (listed ETag ${expectedEtag}, now ${actualEtag ?? 'another'})`, options);
    this.name = 'ObjectChangedError';
  }
}

export class InvalidKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
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
