import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { assertSafeKey, InvalidKeyError, renderUnsafeKey, type ObjectInfo, type ObjectStore } from '../../lib/storage/object-store.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

/**
 * Issue 8, security: object keys are untrusted text. Keys with `..`, `%2e%2e`, absolute parts,
 * 1024 bytes, quotes and newlines, or a spoofed `dt=` fragment must produce no write outside the
 * lake's own prefixes and the run's work directory, must not move records to another partition,
 * and must not stop the run: a key no adapter will fetch is quarantined by name.
 */
const PREFIX = 'raw/agent/dt=2024-05-01/hour=13/';
const record = (port: number) =>
  JSON.stringify({
    v: 1,
    vm_id: 'i-0app00000000001',
    interface_id: 'eth0',
    interval_start_at: '2024-05-01T13:10:00.000Z',
    interval_s: 60,
    start_at: '2024-05-01T13:10:01.000Z',
    end_at: '2024-05-01T13:10:02.000Z',
    src_ip: '10.0.2.10',
    dst_ip: '10.0.3.10',
    src_port: port,
    dst_port: 1433,
    protocol: 6,
    direction: 'egress',
    packets: 3,
    bytes: 180,
    tcp_flags: 24,
  });

/** The agent source reads keys ending `dt=…/hour=…/vm=<vm>/<name>.ndjson.gz`; the hostile part sits before that tail. */
const TAIL = 'dt=2024-05-01/hour=13/vm=v';
/** Keys S3 can hold (any byte sequence up to 1024 bytes) but that a folder on disk could not name safely. */
const UNSAFE: [string, string][] = [
  ['dot-dot segments', `${PREFIX}../../../../../../../outside/${TAIL}/escape-1.ndjson.gz`],
  ['percent-encoded dot-dot', `${PREFIX}%2e%2e/%2E%2e/%2e%2E/%2e%2e/%2e%2e/%2e%2e/outside/${TAIL}/escape-2.ndjson.gz`],
  ['a backslash path', `${PREFIX}..\\..\\..\\outside/${TAIL}/escape-3.ndjson.gz`],
  ['a NUL byte', `${PREFIX}vm=evil/escape-4\u0000.ndjson.gz`],
  ['over 1024 bytes', `${PREFIX}vm=${'b'.repeat(1100)}/escape-5.ndjson.gz`],
];
/** Keys that are safe to fetch and must be read as data, nothing more. */
const ODD_BUT_SAFE: [string, string, number][] = [
  ['exactly 1024 bytes', `${PREFIX}vm=${'a'.repeat(1024 - `${PREFIX}vm=/x-1.ndjson.gz`.length)}/x-1.ndjson.gz`, 51001],
  ['a spoofed dt= fragment for another hour', `${PREFIX}dt=2099-12-31/hour=23/vm=y/x-2.ndjson.gz`, 51002],
  ['an absolute-looking inner path', `${PREFIX}/etc/passwd/${TAIL}/x-3.ndjson.gz`, 51003],
  ['quotes, a newline and SQL', `${PREFIX}vm=q'"\n;DROP TABLE flows;--/x-4.ndjson.gz`, 51004],
  ['a curated-looking path', `${PREFIX}curated/flows/dt=2024-05-01/hour=13/_manifest.json/${TAIL}/x-5.ndjson.gz`, 51005],
];

/** A local lake whose listing also returns objects S3 could hold; fetching checks keys as the S3 adapter does. */
class HostileListingStore implements ObjectStore {
  readonly description = 'hostile listing over a local folder';
  constructor(
    private readonly inner: LocalFolderStore,
    private readonly extra: Map<string, Buffer>,
  ) {}
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const all: ObjectInfo[] = [];
    for await (const info of this.inner.list(prefix)) all.push(info);
    for (const [key, body] of this.extra) if (key.startsWith(prefix)) all.push({ key, size: body.length, etag: `"${body.length}"`, lastModified: new Date('2024-05-01T13:20:00Z') });
    yield* all.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async head(key: string) {
    const body = this.extra.get(key);
    return body ? { key, size: body.length, etag: `"${body.length}"`, lastModified: new Date() } : this.inner.head(key);
  }
  async getToFile(key: string, localPath: string): Promise<ObjectInfo> {
    assertSafeKey(key);
    const body = this.extra.get(key);
    if (!body) return this.inner.getToFile(key, localPath);
    await mkdir(path.dirname(localPath), { recursive: true });
    await writeFile(localPath, body);
    return { key, size: body.length, etag: `"${body.length}"`, lastModified: new Date() };
  }
  getBytes(key: string) {
    return this.inner.getBytes(key);
  }
  putFile(key: string, localPath: string, options?: Parameters<ObjectStore['putFile']>[2]) {
    return this.inner.putFile(key, localPath, options);
  }
  putBytes(key: string, body: Buffer | string, options?: Parameters<ObjectStore['putBytes']>[2]) {
    return this.inner.putBytes(key, body, options);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  localPathOf(key: string) {
    return this.inner.localPathOf(key);
  }
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

describe('hostile object keys', () => {
  let lake: LakeFixture;
  let result: HourlyEtlResult;
  let before: Set<string>;

  beforeAll(async () => {
    const extra = new Map<string, Buffer>();
    UNSAFE.forEach(([, key], index) => extra.set(key, gzipSync(`${record(50001 + index)}\n`)));
    for (const [, key, port] of ODD_BUT_SAFE) extra.set(key, gzipSync(`${record(port)}\n`));
    const dirHolder: { dir?: string } = {};
    lake = await createLakeFixture({
      store: new Proxy({} as ObjectStore, {
        get: (_target, property) => {
          // The fixture makes its temp folder first; the store over it is built on first use.
          const store = ((dirHolder as { store?: ObjectStore }).store ??= new HostileListingStore(new LocalFolderStore(path.join(lake.dir, 'lake')), extra));
          const value = (store as unknown as Record<string | symbol, unknown>)[property];
          return typeof value === 'function' ? value.bind(store) : value;
        },
      }),
    });
    await lake.store.putBytes(`${PREFIX}vm=i-0app00000000001/i-0app00000000001-000000000001.ndjson.gz`, gzipSync(`${record(50000)}\n`));
    before = new Set(await filesUnder(lake.dir));
    result = await lake.runHour('2024-05-01T13');
  });
  afterAll(() => lake.cleanup());

  it('the port refuses every unsafe key, whatever the adapter', () => {
    for (const [name, key] of UNSAFE) expect(() => assertSafeKey(key), name).toThrow(InvalidKeyError);
    for (const [name, key] of ODD_BUT_SAFE) expect(() => assertSafeKey(key), name).not.toThrow();
    expect(() => assertSafeKey('/etc/passwd')).toThrow(/absolute/);
    expect(() => assertSafeKey('raw/%2E%2E/x')).toThrow(InvalidKeyError);
  });

  it('the run goes on and publishes', () => {
    expect(result.error ?? result.status).toBe('published');
    expect(result.counts.objects).toBe(1 + UNSAFE.length + ODD_BUT_SAFE.length);
  });

  it('quarantines each unsafe key by a safe rendering of its name, unread', async () => {
    const rows = await queryLake<{ raw_object_key: string; reason: string }>(lake, `SELECT raw_object_key, reason FROM quarantine WHERE raw_offset IS NULL ORDER BY raw_object_key`);
    expect(rows.map((r) => r.raw_object_key).sort()).toEqual(UNSAFE.map(([, key]) => renderUnsafeKey(key)).sort());
    for (const row of rows) {
      expect(row.reason).toMatch(/^object key is unsafe \((segment|backslash or NUL|longer than 1024 bytes).*\), object not read$/);
      expect(row.raw_object_key).not.toMatch(/[\\\u0000]|(^|\/)\.\.(\/|$)/);
    }
    // Decoding the rendering gives the key back (the long one is cut in the middle).
    expect(decodeURIComponent(rows.find((r) => r.raw_object_key.includes('escape-3'))!.raw_object_key)).toBe(UNSAFE[2]![1]);
  });

  it('reads safe odd keys as data: their records land in the hour of their start time, with the exact key as lineage', async () => {
    const rows = await queryLake<{ src_port: number; raw_object_key: string; start_at: Date }>(lake, `SELECT src_port, raw_object_key, start_at FROM flows WHERE src_port > 51000 ORDER BY src_port`);
    expect(rows.map((r) => [r.src_port, r.raw_object_key])).toEqual(ODD_BUT_SAFE.map(([, key, port]) => [port, key]));
    expect(await lake.store.head('curated/flows/dt=2099-12-31/hour=23/_manifest.json')).toBeUndefined();
  });

  it('writes nothing outside the lake prefixes, the ledger and the work directory', async () => {
    const after = await filesUnder(lake.dir);
    const added = after.filter((file) => !before.has(file));
    const allowed = /^(lake\/(curated|alerts|quarantine|locks|_locks)\/|ledger\.ndjson$|work\/)/;
    expect(added.filter((file) => !allowed.test(file))).toEqual([]);
    expect(added.some((file) => file.startsWith('lake/curated/flows/dt=2024-05-01/hour=13/'))).toBe(true);
    // Nothing named after a key anywhere: no `outside`, `escape`, `passwd` or `_manifest.json/` paths.
    expect(after.filter((file) => /outside|escape|passwd|_manifest\.json\//.test(file))).toEqual([]);
    expect(await readdir(path.dirname(lake.dir)).then((names) => names.filter((n) => n === 'outside'))).toEqual([]);
  });
});
