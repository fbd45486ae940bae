import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { s3StoreSchema, type S3StoreConfig } from '../../schemas/config.ts';
import { createObjectStore } from '../../lib/storage/create-object-store.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { InvalidKeyError, ObjectExistsError, type ObjectInfo, type ObjectStore } from '../../lib/storage/object-store.ts';
import { createS3Client, S3ObjectStore, type S3ObjectStoreOptions } from '../../lib/storage/s3-object-store.ts';
import { S3RequestError } from '../../lib/storage/s3-request-error.ts';
import { ofKind, startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';

const MIB = 1024 * 1024;

let server: S3TestServer;
let proxy: FaultProxy;
let raw: S3Client;
let scratch: string;
const stores: S3ObjectStore[] = [];
let prefixCount = 0;

beforeAll(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
  scratch = await mkdtemp(path.join(tmpdir(), 'netflow-s3-test-'));
  // A plain client straight to s3rver, to look at the bucket behind the adapter's back.
  raw = new S3Client({
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return async () => {
    for (const store of stores) store.destroy();
    raw.destroy();
    await proxy.stop();
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  };
});

beforeEach(() => {
  proxy.reset();
});

/** A store through the fault proxy (or straight to s3rver), under a prefix no other test uses. */
function newStore(overrides: Partial<S3StoreConfig> = {}, options: S3ObjectStoreOptions & { direct?: boolean } = {}): S3ObjectStore {
  prefixCount += 1;
  const config = s3StoreSchema.parse({
    type: 's3',
    bucket: server.bucket,
    prefix: `case-${prefixCount}/`,
    region: server.region,
    endpoint: options.direct ? server.endpoint : proxy.endpoint,
    force_path_style: true,
    max_attempts: 3,
    ...overrides,
  });
  const store = new S3ObjectStore(config, { bodyRetryBaseDelayMs: 5, ...options });
  stores.push(store);
  return store;
}

/** A store through the proxy, and one on the same prefix straight to s3rver (no faults). */
function storePair(overrides: Partial<S3StoreConfig> = {}, options: S3ObjectStoreOptions = {}): { store: S3ObjectStore; direct: S3ObjectStore; prefix: string } {
  const store = newStore(overrides, options);
  const prefix = `case-${prefixCount}/`;
  const direct = newStore({ ...overrides, prefix }, { ...options, direct: true });
  return { store, direct, prefix };
}

async function listKeys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

async function openUploads(): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
  return (out.Uploads ?? []).map((upload) => upload.Key ?? '');
}

async function randomFile(name: string, size: number): Promise<{ file: string; sha256: string }> {
  const file = path.join(scratch, name);
  const bytes = randomBytes(size);
  await writeFile(file, bytes);
  return { file, sha256: sha256(bytes) };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Compares by length and hash: a deep equality over a large Buffer takes seconds. */
function fingerprint(bytes: Buffer | undefined): { length: number; sha256: string } | undefined {
  return bytes && { length: bytes.length, sha256: sha256(bytes) };
}

function kinds(): string[] {
  return proxy.requests.map((request) => request.kind);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('listing', () => {
  test('lists 1,150 keys across pages of 1,000, in key order, one request per page', async () => {
    const { store, direct: seeder } = storePair();
    const keys = Array.from({ length: 1150 }, (_, i) => `raw/agent/vm=${String(i % 7)}/${String(i).padStart(5, '0')}.ndjson`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((key) => seeder.putBytes(key, key)));
    }
    proxy.reset();

    const listed = await listKeys(store, 'raw/agent/');
    expect(listed).toEqual([...keys].sort());
    expect(kinds()).toEqual(['list', 'list']);
    expect(proxy.requests[1]?.query.get('continuation-token')).toBeTruthy();
  });

  test('skips console-made folder markers, marks an unsafe key written by someone else and lists on', async () => {
    const { store, prefix } = storePair();
    await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}inbox/`, Body: Buffer.alloc(0) }));
    await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}inbox/a.log`, Body: 'a' }));
    expect(await listKeys(store)).toEqual(['inbox/a.log']);

    await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}inbox/%2e%2e/evil`, Body: 'x' }));
    await raw.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}inbox/z.log`, Body: 'z' }));
    const listed: ObjectInfo[] = [];
    for await (const object of store.list('')) listed.push(object);
    expect(listed.map((o) => [o.key, o.unsafeKey])).toEqual([
      ['inbox/%252e%252e/evil', 'segment "%2e%2e"'],
      ['inbox/a.log', undefined],
      ['inbox/z.log', undefined],
    ]);
    // The rendered name is never fetched: it is not the key.
    expect(await store.head('inbox/%252e%252e/evil')).toBeUndefined();
  });
});

describe('key prefix', () => {
  test('is prepended to every key (with a "/" added when missing) and stripped from listed keys', async () => {
    const tenantA = newStore({ prefix: 'tenant-a' }, { direct: true });
    const tenantAb = newStore({ prefix: 'tenant-ab/' }, { direct: true });
    await tenantA.putBytes('x/1', 'a1');
    await tenantAb.putBytes('x/1', 'ab1');

    const inBucket = await raw.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: 'tenant-a' }));
    expect(inBucket.Contents?.map((object) => object.Key)).toEqual(['tenant-a/x/1', 'tenant-ab/x/1']);
    expect(await listKeys(tenantA)).toEqual(['x/1']);
    expect(await listKeys(tenantAb)).toEqual(['x/1']);
    expect((await tenantA.getBytes('x/1'))?.toString()).toBe('a1');
    expect((await tenantA.head('x/1'))?.key).toBe('x/1');

    await tenantA.delete('x/1');
    expect((await tenantAb.getBytes('x/1'))?.toString()).toBe('ab1');
    expect(tenantA.description).toBe(`s3://${server.bucket}/tenant-a/ at ${server.endpoint}`);
  });

  test.each([['/abs'], ['../up'], ['a/%2e%2e']])('a configured prefix %j that could escape is refused at construction', (prefix) => {
    expect(() => newStore({ prefix })).toThrow(InvalidKeyError);
  });
});

describe('multipart upload', () => {
  test('a 20 MB file goes up in 4 parts, reads back byte for byte, and leaves no upload open', async () => {
    const store = newStore({ multipart_threshold_mb: 8, part_size_mb: 5 });
    const { file, sha256: expected } = await randomFile('twenty.bin', 20 * MIB);

    const put = await store.putFile('curated/flows/part-0.parquet', file);
    expect(put.size).toBe(20 * MIB);
    expect(kinds().sort()).toEqual(['complete-multipart', 'create-multipart', 'upload-part', 'upload-part', 'upload-part', 'upload-part']);
    expect(await openUploads()).toEqual([]);

    const target = path.join(scratch, 'twenty.back');
    const got = await store.getToFile('curated/flows/part-0.parquet', target);
    expect(got.size).toBe(20 * MIB);
    expect(sha256(await readFile(target))).toBe(expected);
    expect((await store.head('curated/flows/part-0.parquet'))?.etag).toBe(put.etag);
  });

  test('a file below the threshold goes up in one PUT', async () => {
    const store = newStore({ multipart_threshold_mb: 8, part_size_mb: 5 });
    const { file, sha256: expected } = await randomFile('three.bin', 3 * MIB);
    await store.putFile('raw/three.bin', file);
    expect(kinds()).toEqual(['put']);
    expect(sha256((await store.getBytes('raw/three.bin')) ?? Buffer.alloc(0))).toBe(expected);
  });

  test('a part that keeps failing aborts the upload: the error names the key, no upload stays open', async () => {
    const store = newStore({ multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file } = await randomFile('failing.bin', 11 * MIB);
    proxy.setRate({ rate: 1, faults: ['internal-error'], seed: 1, match: ofKind('upload-part') });

    const error = await rejection(store.putFile('curated/flows/failing.parquet', file));
    expect(error).toBeInstanceOf(S3RequestError);
    expect(error.message).toMatch(/^s3 upload part \d of 3 failed for s3:\/\/netflow-test\/case-\d+\/curated\/flows\/failing\.parquet after 3 attempts: InternalError/);
    expect(kinds()).toContain('abort-multipart');
    expect(await openUploads()).toEqual([]);
    expect(await store.head('curated/flows/failing.parquet')).toBeUndefined();
  });

  test('createOnly: a writer that lands while the parts upload wins, the upload is aborted', async () => {
    const { store, direct: rival } = storePair({ multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file } = await randomFile('loser.bin', 6 * MIB);
    let rivalDone = false;
    proxy.onRequest(async (request) => {
      if (request.kind === 'upload-part' && !rivalDone) {
        rivalDone = true;
        await rival.putBytes('curated/flows/_commit', 'rival', { createOnly: true });
      }
    });

    await expect(store.putFile('curated/flows/_commit', file, { createOnly: true })).rejects.toBeInstanceOf(ObjectExistsError);
    const complete = proxy.requests.find((request) => request.kind === 'complete-multipart');
    expect(complete?.headers['if-none-match']).toBe('*');
    expect(kinds()).toContain('abort-multipart');
    expect(await openUploads()).toEqual([]);
    expect((await rival.getBytes('curated/flows/_commit'))?.toString()).toBe('rival');
  });
});

describe('retries through the fault proxy', () => {
  test('a PUT survives 500, 503 SlowDown and a connection reset', async () => {
    const store = newStore({ max_attempts: 4 });
    proxy.schedule(['internal-error', 'slow-down', 'reset'], ofKind('put'));
    await store.putBytes('raw/retried.json', '{"ok":true}');
    expect(proxy.counters.injected).toMatchObject({ 'internal-error': 1, 'slow-down': 1, reset: 1 });
    expect(kinds()).toEqual(['put', 'put', 'put', 'put']);
    expect((await store.getBytes('raw/retried.json'))?.toString()).toBe('{"ok":true}');
  });

  test('HEAD, LIST and GET survive failures before the response headers', async () => {
    const store = newStore();
    await store.putBytes('raw/a.log', 'line\n');
    proxy.reset();
    proxy.schedule(['internal-error', 'reset'], ofKind('head'));
    proxy.schedule(['slow-down', 'internal-error'], ofKind('list'));
    proxy.schedule(['reset', 'internal-error'], ofKind('get'));
    expect((await store.head('raw/a.log'))?.size).toBe(5);
    expect(await listKeys(store, 'raw/')).toEqual(['raw/a.log']);
    expect((await store.getBytes('raw/a.log'))?.toString()).toBe('line\n');
    expect(proxy.counters.injected).toMatchObject({ 'internal-error': 3, 'slow-down': 1, reset: 2 });
  });

  test('a GET whose body is cut off after the headers is retried by the adapter, to file and to memory', async () => {
    const store = newStore();
    const body = randomBytes(256 * 1024);
    await store.putBytes('raw/big.log', body);
    proxy.reset();
    proxy.schedule(['truncate-body', 'truncate-body'], ofKind('get'));
    const target = path.join(scratch, 'truncated', 'big.log');
    const info = await store.getToFile('raw/big.log', target);
    expect(info.size).toBe(body.length);
    expect(fingerprint(await readFile(target))).toEqual(fingerprint(body));
    expect(await readdir(path.dirname(target))).toEqual(['big.log']);
    expect(proxy.counters.injected['truncate-body']).toBe(2);
    expect(kinds()).toEqual(['get', 'get', 'get']);

    proxy.schedule(['truncate-body'], ofKind('get'));
    expect(fingerprint(await store.getBytes('raw/big.log'))).toEqual(fingerprint(body));
    expect(proxy.counters.injected['truncate-body']).toBe(3);
  });

  test('a body that ends cleanly but short of its Content-Length is never taken for the object', async () => {
    const config = s3StoreSchema.parse({
      type: 's3',
      bucket: server.bucket,
      prefix: 'short-body/',
      region: server.region,
      endpoint: server.endpoint,
      force_path_style: true,
      max_attempts: 3,
    });
    const client = createS3Client(config);
    let shortBodies = 0;
    cutObjectBodies(client, () => {
      if (shortBodies <= 0) return false;
      shortBodies -= 1;
      return true;
    });
    const store = new S3ObjectStore(config, { client, bodyRetryBaseDelayMs: 5 });
    stores.push(store);
    await store.putBytes('raw/a.log', 'x'.repeat(1000));

    shortBodies = 1;
    expect((await store.getBytes('raw/a.log'))?.length).toBe(1000);
    expect(shortBodies).toBe(0);

    shortBodies = Infinity;
    const target = path.join(scratch, 'short', 'a.log');
    const error = await rejection(store.getToFile('raw/a.log', target));
    expect(error).toBeInstanceOf(S3RequestError);
    expect(error.message).toContain('response body has 500 bytes, Content-Length said 1000');
    expect(await readdir(path.dirname(target))).toEqual([]);
    client.destroy();
  });

  test('a seeded 30 % fault rate over a mixed workload: every operation succeeds, every byte intact', async () => {
    const store = newStore({ max_attempts: 6, multipart_threshold_mb: 5, part_size_mb: 5 }, { partConcurrency: 1 });
    proxy.setRate({ rate: 0.3, faults: ['internal-error', 'slow-down', 'reset', 'truncate-body'], seed: 20250101 });
    const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(1000 + i * 997));
    for (const [i, body] of bodies.entries()) await store.putBytes(`raw/mixed/${i}.bin`, body);
    for (const [i, body] of bodies.entries()) expect(fingerprint(await store.getBytes(`raw/mixed/${i}.bin`))).toEqual(fingerprint(body));
    const { file, sha256: expected } = await randomFile('mixed.bin', 7 * MIB);
    await store.putFile('raw/mixed/large.bin', file);
    await store.getToFile('raw/mixed/large.bin', path.join(scratch, 'mixed.back'));
    expect(sha256(await readFile(path.join(scratch, 'mixed.back')))).toBe(expected);
    expect(await listKeys(store, 'raw/mixed/')).toHaveLength(13);
    expect((await store.head('raw/mixed/3.bin'))?.size).toBe(bodies[3]?.length);

    const injected = Object.values(proxy.counters.injected).reduce((sum, count) => sum + count, 0);
    expect(injected).toBeGreaterThanOrEqual(5);
    expect(proxy.counters.injected['truncate-body']).toBeGreaterThan(0);
    expect(await openUploads()).toEqual([]);
  });

  test('a createOnly PUT that reached the store before its connection broke is recognised as its own', async () => {
    const store = newStore();
    proxy.schedule(['reset-after-forward'], ofKind('put'));
    const put = await store.putBytes('curated/flows/_commit', 'run-1', { createOnly: true });
    expect(put.size).toBe(5);
    expect(kinds()).toEqual(['put', 'put', 'head']);

    // Someone else's object is still someone else's, even after a retry.
    proxy.reset();
    proxy.schedule(['reset'], ofKind('put'));
    await expect(store.putBytes('curated/flows/_commit', 'run-2', { createOnly: true })).rejects.toBeInstanceOf(ObjectExistsError);
    expect((await store.getBytes('curated/flows/_commit'))?.toString()).toBe('run-1');
  });
});

describe('when every request fails', () => {
  test('writes fail with an error that names the operation, the object and the attempts, and write nothing', async () => {
    const { store, direct } = storePair({ multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file } = await randomFile('doomed.bin', 6 * MIB);
    proxy.setRate({ rate: 1, faults: ['internal-error', 'reset'], seed: 7 });

    const putError = await rejection(store.putBytes('raw/doomed.json', '{}'));
    expect(putError).toBeInstanceOf(S3RequestError);
    expect(putError.message).toMatch(/^s3 put failed for s3:\/\/netflow-test\/case-\d+\/raw\/doomed\.json after 3 attempts: /);

    const multipartError = await rejection(store.putFile('raw/doomed.bin', file));
    expect(multipartError.message).toMatch(/^s3 create multipart upload failed for .*raw\/doomed\.bin after 3 attempts/);

    expect(await listKeys(direct)).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  test('reads fail loudly (a failing HEAD is not a missing object) and leave no partial file', async () => {
    const { store, direct } = storePair();
    await direct.putBytes('raw/present.log', 'x'.repeat(10_000));
    proxy.setRate({ rate: 1, faults: ['internal-error', 'reset'], seed: 11 });

    await expect(store.head('raw/present.log')).rejects.toBeInstanceOf(S3RequestError);
    await expect(store.getBytes('raw/present.log')).rejects.toBeInstanceOf(S3RequestError);
    await expect(listKeys(store)).rejects.toThrow(/^s3 list failed for s3:\/\/netflow-test\/case-\d+\/ after 3 attempts/);
    const target = path.join(scratch, 'doomed-read', 'present.log');
    await expect(store.getToFile('raw/present.log', target)).rejects.toBeInstanceOf(S3RequestError);
    expect(await readdir(path.dirname(target)).catch(() => [])).toEqual([]);

    proxy.setRate({ rate: 1, faults: ['truncate-body'], seed: 12 });
    const error = await rejection(store.getToFile('raw/present.log', target));
    expect(error.message).toMatch(/after 3 attempts: the response body failed on every attempt/);
    expect(proxy.counters.injected['truncate-body']).toBe(3);
    expect(await readdir(path.dirname(target)).catch(() => [])).toEqual([]);
  });
});

describe('server-side encryption', () => {
  test.each([
    [{ type: 'aws:kms', kms_key_id: 'alias/netflow-lake' }, 'aws:kms', 'alias/netflow-lake'],
    [{ type: 'AES256' }, 'AES256', undefined],
    [undefined, undefined, undefined],
  ] as const)('%j is sent on every PUT and CreateMultipartUpload, never on a part', async (sse, algorithm, keyId) => {
    const store = newStore({ server_side_encryption: sse, multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file } = await randomFile('encrypted.bin', 6 * MIB);
    await store.putBytes('raw/small.json', '{}');
    await store.putFile('raw/large.bin', file);

    const seen = proxy.requests.map((request) => [request.kind, request.headers['x-amz-server-side-encryption'], request.headers['x-amz-server-side-encryption-aws-kms-key-id']]);
    expect(seen).toEqual([
      ['put', algorithm, keyId],
      ['create-multipart', algorithm, keyId],
      ['upload-part', undefined, undefined],
      ['upload-part', undefined, undefined],
      ['complete-multipart', undefined, undefined],
    ]);
  });
});

describe('configuration', () => {
  test('createOnly sends If-None-Match: *; without conditional writes it is emulated by HEAD then PUT', async () => {
    const conditional = newStore();
    await conditional.putBytes('a', '1', { createOnly: true });
    expect(proxy.requests.map((request) => [request.kind, request.headers['if-none-match']])).toEqual([['put', '*']]);

    proxy.reset();
    const emulated = newStore({ conditional_writes: false });
    await emulated.putBytes('a', '1', { createOnly: true });
    await expect(emulated.putBytes('a', '2', { createOnly: true })).rejects.toBeInstanceOf(ObjectExistsError);
    expect(proxy.requests.map((request) => [request.kind, request.headers['if-none-match']])).toEqual([
      ['head', undefined],
      ['put', undefined],
      ['head', undefined],
    ]);
    expect((await emulated.getBytes('a'))?.toString()).toBe('1');
  });

  test('the description names bucket, prefix and endpoint, never credentials', () => {
    const store = new S3ObjectStore(
      s3StoreSchema.parse({
        type: 's3',
        bucket: 'flows',
        prefix: 'lake/',
        endpoint: 'https://AKIAEXAMPLEUSER:wJalrSECRET@objects.example.test:9000/base?X-Amz-Security-Token=TOKEN',
        force_path_style: true,
      }),
    );
    stores.push(store);
    expect(store.description).toBe('s3://flows/lake/ at https://objects.example.test:9000/base');
    expect(store.description).not.toMatch(/AKIA|SECRET|TOKEN|S3RVER/);
  });

  test('credentials cannot be put in the store configuration', () => {
    const result = s3StoreSchema.safeParse({ type: 's3', bucket: 'flows', access_key_id: 'AKIA', secret_access_key: 'x' });
    expect(result.success).toBe(false);
  });

  test('createObjectStore picks the adapter from the configuration, resolving a local path against baseDir', () => {
    const local = createObjectStore({ type: 'local', path: 'lake' }, { baseDir: '/srv/netflow' });
    expect(local).toBeInstanceOf(LocalFolderStore);
    expect(local.description).toBe('file:///srv/netflow/lake');

    const remote = createObjectStore(s3StoreSchema.parse({ type: 's3', bucket: 'flows', region: 'eu-west-1' }));
    expect(remote).toBeInstanceOf(S3ObjectStore);
    expect(remote.description).toBe('s3://flows/');
    (remote as S3ObjectStore).destroy();
  });
});

/**
 * Makes the client's HTTP handler hand back half of an object's body, ending cleanly (no
 * network error), whenever `shouldCut` says so: the one failure only a Content-Length check
 * catches. The request still goes to s3rver over real HTTP.
 */
function cutObjectBodies(client: S3Client, shouldCut: () => boolean): void {
  type Handle = (request: { method: string; query: Record<string, unknown> }, options?: unknown) => Promise<{ response: { body: Readable } }>;
  const handler = client.config.requestHandler as unknown as { handle: Handle };
  const handle = handler.handle.bind(handler);
  handler.handle = async (request, options) => {
    const out = await handle(request, options);
    if (request.method === 'GET' && !('list-type' in request.query) && shouldCut()) {
      const chunks: Buffer[] = [];
      for await (const chunk of out.response.body) chunks.push(chunk as Buffer);
      const full = Buffer.concat(chunks);
      out.response.body = new PassThrough().end(full.subarray(0, Math.floor(full.length / 2)));
    }
    return out;
  };
}
