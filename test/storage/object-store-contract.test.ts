import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { InvalidKeyError, ObjectChangedError, ObjectExistsError, ObjectNotFoundError, type ObjectInfo, type ObjectStore } from '../../lib/storage/object-store.ts';
import { azure, localFolder, s3, storeCount } from '../support/store-adapters.ts';

/**
 * One contract, every adapter: whatever a job may rely on when it talks to "the object store"
 * must hold for a local folder and for S3 alike. Each test gets an empty store (a fresh folder,
 * or a fresh key prefix in the s3rver bucket).
 */

async function collect(listing: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const info of listing) all.push(info);
  return all;
}

async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

const UNSAFE_KEYS: Array<[description: string, key: string]> = [
  ['parent segment', '../x'],
  ['percent-encoded parent segment', '%2e%2e/x'],
  ['parent segment inside the key', 'a/../../x'],
  ['current-folder segment', 'a/./b'],
  ['absolute path', '/abs'],
  ['backslash', 'a\\..\\x'],
  ['longer than 1024 bytes', 'k'.repeat(1025)],
  ['longer than 1024 bytes in UTF-8 (513 two-byte characters)', 'é'.repeat(513)],
];

describe.each([localFolder, s3, azure])('object store contract: $name', (adapter) => {
  let store: ObjectStore;
  let scratch: string;

  beforeAll(async () => {
    await adapter.start();
    scratch = await mkdtemp(path.join(tmpdir(), 'netflow-contract-files-'));
    return async () => {
      await adapter.stop();
      await rm(scratch, { recursive: true, force: true });
    };
  });

  beforeEach(async () => {
    store = await adapter.newStore();
  });

  test('describes its location', () => {
    expect(store.description).toMatch(/^(file|s3|azure):\/\//);
  });

  test('putBytes, then head, getBytes and getToFile give back the same object', async () => {
    const body = Buffer.from('{"version":1}\n');
    const put = await store.putBytes('curated/flows/_manifest.json', body, { contentType: 'application/json' });
    expect(put).toMatchObject({ key: 'curated/flows/_manifest.json', size: body.length });

    const head = await store.head('curated/flows/_manifest.json');
    expect(head).toMatchObject({ key: 'curated/flows/_manifest.json', size: body.length, etag: put.etag });
    expect(head?.lastModified).toBeInstanceOf(Date);

    expect(await store.getBytes('curated/flows/_manifest.json')).toEqual(body);

    const target = path.join(scratch, `${storeCount}`, 'new-folder', 'manifest.json');
    const got = await store.getToFile('curated/flows/_manifest.json', target);
    expect(got).toMatchObject({ key: 'curated/flows/_manifest.json', size: body.length, etag: put.etag });
    expect(await readFile(target)).toEqual(body);
    // Written atomically: nothing but the target is left in its folder.
    expect(await readdir(path.dirname(target))).toEqual(['manifest.json']);
  });

  test('putFile uploads the bytes of a local file, strings are stored as UTF-8', async () => {
    const source = path.join(scratch, `upload-${storeCount}.log`);
    const body = Buffer.from('2 123456789012 eni-0a1b 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n');
    await writeFile(source, body);
    const put = await store.putFile('raw/aws/one.log', source);
    expect(put.size).toBe(body.length);
    expect(await store.getBytes('raw/aws/one.log')).toEqual(body);

    await store.putBytes('raw/text.txt', 'grüße');
    expect((await store.getBytes('raw/text.txt'))?.toString('utf8')).toBe('grüße');
  });

  test('overwriting replaces the content and changes the etag', async () => {
    const first = await store.putBytes('ledger/state.json', 'one');
    const second = await store.putBytes('ledger/state.json', 'three');
    expect((await store.getBytes('ledger/state.json'))?.toString()).toBe('three');
    expect(second.etag).not.toBe(first.etag);
    expect((await store.head('ledger/state.json'))?.size).toBe(5);
  });

  test('list yields every object under a prefix in lexicographic key order, with its metadata', async () => {
    // '-' (0x2d) sorts before '/' (0x2f): a naive folder walk would put 'a-b' after 'a/…'.
    const keys = ['b/2', 'a/sub/x', 'a/10', 'c', 'a/2', 'a-b', 'a/1'];
    for (const key of keys) await store.putBytes(key, `body of ${key}`);

    expect(await listKeys(store, '')).toEqual(['a-b', 'a/1', 'a/10', 'a/2', 'a/sub/x', 'b/2', 'c']);
    expect(await listKeys(store, 'a/')).toEqual(['a/1', 'a/10', 'a/2', 'a/sub/x']);

    const infos: ObjectInfo[] = [];
    for await (const info of store.list('b/')) infos.push(info);
    expect(infos).toEqual([{ key: 'b/2', size: Buffer.byteLength('body of b/2'), etag: (await store.head('b/2'))?.etag, lastModified: expect.any(Date) }]);
  });

  test('list with a prefix that is not on a folder boundary matches key prefixes, not folders', async () => {
    for (const key of ['raw/agent/dt=2025-01-01/x', 'raw/agx', 'raw/b', 'rawx', 'a/1', 'a/10', 'a/2']) {
      await store.putBytes(key, key);
    }
    expect(await listKeys(store, 'raw/ag')).toEqual(['raw/agent/dt=2025-01-01/x', 'raw/agx']);
    expect(await listKeys(store, 'raw')).toEqual(['raw/agent/dt=2025-01-01/x', 'raw/agx', 'raw/b', 'rawx']);
    expect(await listKeys(store, 'a/1')).toEqual(['a/1', 'a/10']);
    expect(await listKeys(store, 'raw/agent/dt=2025')).toEqual(['raw/agent/dt=2025-01-01/x']);
    expect(await listKeys(store, 'nothing/here/')).toEqual([]);
    expect(await listKeys(store, 'zz')).toEqual([]);
  });

  test('a missing key: head and getBytes give undefined, getToFile throws and writes nothing, delete is a no-op', async () => {
    await store.putBytes('present', 'x');
    expect(await store.head('absent')).toBeUndefined();
    expect(await store.getBytes('absent')).toBeUndefined();

    const folder = path.join(scratch, `missing-${storeCount}`);
    const error = await store.getToFile('absent', path.join(folder, 'absent.bin')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as ObjectNotFoundError).key).toBe('absent');
    const left = await readdir(folder).catch(() => []);
    expect(left).toEqual([]);

    await expect(store.delete('absent')).resolves.toBeUndefined();
    expect(await listKeys(store, '')).toEqual(['present']);
  });

  test('getToFile pinned to the listed ETag: the listed version, or ObjectChangedError and nothing written once it was rewritten', async () => {
    // An Azure PT1H.json block blob grows during its hour: the run id names the listed ETag, so
    // a download must never hand back a later version under it.
    const key = 'raw/azure_nsg/h=12/PT1H.json';
    await store.putBytes(key, '{"records":[1]}');
    const [listed] = await collect(store.list('raw/azure_nsg/'));
    const folder = path.join(scratch, `pinned-${storeCount}`);
    const got = await store.getToFile(key, path.join(folder, 'v1.json'), { ifMatch: listed!.etag });
    expect(got.etag).toBe(listed!.etag);
    expect(await readFile(path.join(folder, 'v1.json'), 'utf8')).toBe('{"records":[1]}');

    // A local file's ETag has microsecond mtime: the rewrite must land on another one.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.putBytes(key, '{"records":[1,2]}');
    const error = await store.getToFile(key, path.join(folder, 'v2.json'), { ifMatch: listed!.etag }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ObjectChangedError);
    expect((error as ObjectChangedError).key).toBe(key);
    expect((error as Error).message).toContain(listed!.etag);
    expect(await readdir(folder)).toEqual(['v1.json']);
  });

  test('delete removes the object from head, get and list', async () => {
    await store.putBytes('quarantine/a.json', 'a');
    await store.putBytes('quarantine/b.json', 'b');
    await store.delete('quarantine/a.json');
    expect(await store.head('quarantine/a.json')).toBeUndefined();
    expect(await store.getBytes('quarantine/a.json')).toBeUndefined();
    expect(await listKeys(store, 'quarantine/')).toEqual(['quarantine/b.json']);
  });

  test('createOnly writes a new object and refuses to overwrite an existing one', async () => {
    const put = await store.putBytes('curated/flows/v1/_commit', 'run-1', { createOnly: true });
    expect(put.size).toBe(5);

    const error = await store.putBytes('curated/flows/v1/_commit', 'run-2', { createOnly: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ObjectExistsError);
    expect((error as ObjectExistsError).key).toBe('curated/flows/v1/_commit');

    const source = path.join(scratch, `create-only-${storeCount}`);
    await writeFile(source, 'run-3');
    await expect(store.putFile('curated/flows/v1/_commit', source, { createOnly: true })).rejects.toBeInstanceOf(ObjectExistsError);
    expect((await store.getBytes('curated/flows/v1/_commit'))?.toString()).toBe('run-1');
  });

  test('concurrent createOnly puts of one key: exactly one writer wins, and its bytes are stored', async () => {
    for (let round = 0; round < 3; round += 1) {
      const key = `locks/partition-${round}`;
      const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
      const results = await Promise.allSettled(writers.map((body) => store.putBytes(key, body, { createOnly: true })));
      const winners = writers.filter((_, i) => results[i]?.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(ObjectExistsError);
      }
      expect((await store.getBytes(key))?.toString()).toBe(winners[0]);
    }
  });

  test.each(UNSAFE_KEYS)('an unsafe key (%s) is rejected by every operation and writes nothing', async (_description, key) => {
    const source = path.join(scratch, `unsafe-${storeCount}`);
    await writeFile(source, 'x');
    const target = path.join(scratch, `unsafe-${storeCount}-out`, 'x');
    const operations: Array<[string, () => Promise<unknown>]> = [
      ['head', () => store.head(key)],
      ['getBytes', () => store.getBytes(key)],
      ['getToFile', () => store.getToFile(key, target)],
      ['putBytes', () => store.putBytes(key, 'x')],
      ['putBytes createOnly', () => store.putBytes(key, 'x', { createOnly: true })],
      ['putFile', () => store.putFile(key, source)],
      ['delete', () => store.delete(key)],
    ];
    for (const [name, operation] of operations) {
      const outcome = await operation().then(
        () => 'resolved',
        (error: unknown) => error,
      );
      expect(outcome, name).toBeInstanceOf(InvalidKeyError);
    }
    expect(await listKeys(store, '')).toEqual([]);
    expect(await readdir(path.dirname(target)).catch(() => [])).toEqual([]);
  });

  test('listChildren gives the objects and folders directly under a prefix, in key order, and counts its requests', async () => {
    for (const key of ['raw/a/1.log', 'raw/a/b/2.log', 'raw/a/c/d/3.log', 'raw/a2.log', 'raw/ab/4.log']) await store.putBytes(key, 'x');
    const cost = { requests: 0, keys: 0 };
    const children: string[] = [];
    for await (const entry of store.listChildren!('raw/a/', { cost })) children.push('folder' in entry ? entry.folder : entry.key);
    expect(children).toEqual(['raw/a/1.log', 'raw/a/b/', 'raw/a/c/']);
    expect(cost).toEqual({ requests: 1, keys: 3 });
    const top: string[] = [];
    for await (const entry of store.listChildren!('raw/a')) top.push('folder' in entry ? entry.folder : entry.key);
    expect(top).toEqual(['raw/a/', 'raw/a2.log', 'raw/ab/']);
    const none: string[] = [];
    for await (const entry of store.listChildren!('raw/absent/')) none.push('folder' in entry ? entry.folder : entry.key);
    expect(none).toEqual([]);
  });

  test('listing under an unsafe folder prefix is rejected', async () => {
    await expect(listKeys(store, '../')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(listKeys(store, 'a/%2e%2e/b')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(listKeys(store, '/a/b')).rejects.toBeInstanceOf(InvalidKeyError);
  });
});
