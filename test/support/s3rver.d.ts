// s3rver ships no type declarations; this is the subset test/support/s3-server.ts uses.
declare module 's3rver' {
  export type { FilesystemStore, ListOptions, ListedObject };
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  interface ListOptions {
    delimiter?: string;
    startAfter?: string;
    prefix?: string;
    maxKeys?: number;
  }

  /** What s3rver's bucket controller reads from a listed object. */
  interface ListedObject {
    key: string;
    size: number;
    lastModifiedDate: Date;
    metadata: Record<string, string>;
  }

  interface FilesystemStore {
    existsObject(bucket: string, key: string): Promise<boolean>;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    listObjects(
      bucket: string,
      options: ListOptions,
    ): Promise<{ objects: ListedObject[]; commonPrefixes: string[]; isTruncated: boolean }>;
  }

  interface Logger {
    close(): void;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    readonly store: FilesystemStore;
    readonly logger: Logger;
    configureBuckets(): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  }

  export default S3rver;
}
