import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockKey, lockPrefix, LockLostError, PartitionLock, type LockBody } from '../../lib/publish/partition-lock.ts';
import { publishPartition } from '../../lib/publish/publish-partition.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';

const PARTITION = { dt: '2024-05-01', hour: '13' };
const noSleep = async () => {};

describe('the partition lock', () => {
  let dir: string;
  let store: LocalFolderStore;
  let clock: Date;
  const lock = (owner: string, options: { leaseMs?: number; waitMs?: number } = {}) =>
    new PartitionLock({ store, partition: PARTITION, leaseMs: options.leaseMs ?? 60_000, waitMs: options.waitMs ?? 0, owner, now: () => clock, sleep: noSleep });
  const generations = async () => {
    const keys: string[] = [];
    for await (const object of store.list(lockPrefix(PARTITION))) keys.push(object.key.slice(lockPrefix(PARTITION).length));
    return keys;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-lock-'));
    store = new LocalFolderStore(dir);
    clock = new Date('2024-05-01T14:20:00Z');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('has one holder; a second runner gives up after its wait and names the holder', async () => {
    const a = lock('a');
    expect(await a.acquire()).toMatchObject({ acquired: true, generation: 1, tookOver: null, contended: false });
    const b = await lock('b').acquire();
    expect(b).toMatchObject({ acquired: false, holder: { owner: 'a', generation: 1, released: false } });
    await a.release();
    expect(await lock('b').acquire()).toMatchObject({ acquired: true, generation: 2, tookOver: null });
    // Older generations are history: only the newest is kept.
    expect(await generations()).toEqual(['lock.000000000002.json']);
  });

  it('a runner that waits gets the lock when the holder releases it, and knows it waited', async () => {
    const a = lock('a');
    await a.acquire();
    let polls = 0;
    const waitingFor: string[] = [];
    const b = new PartitionLock({
      store,
      partition: PARTITION,
      leaseMs: 60_000,
      waitMs: 10_000,
      owner: 'b',
      now: () => clock,
      onWait: (holder) => waitingFor.push(holder.owner),
      sleep: async () => {
        if (++polls === 3) await a.release();
      },
    });
    expect(await b.acquire()).toMatchObject({ acquired: true, generation: 2, contended: true });
    expect(waitingFor).toEqual(['a']);
  });

  it('a lease that expired is taken over, and the old holder can no longer commit', async () => {
    const a = lock('a', { leaseMs: 60_000 });
    await a.acquire();
    clock = new Date(clock.getTime() + 61_000);
    const b = lock('b');
    expect(await b.acquire()).toMatchObject({ acquired: true, generation: 2, tookOver: { owner: 'a' } });
    await expect(a.assertHeld(0)).rejects.toThrow(LockLostError);
    await expect(a.assertHeld(0)).rejects.toThrow(/taken over by b/);
    await b.assertHeld(0);
    // The old holder's release does not free the new holder's lock.
    await a.release();
    expect((await lock('c').acquire()).acquired).toBe(false);
  });

  it('two takers of one stale lock: exactly one wins', async () => {
    await lock('a').acquire();
    clock = new Date(clock.getTime() + 61_000);
    const results = await Promise.all(['b', 'c', 'd', 'e'].map((owner) => lock(owner).acquire()));
    expect(results.filter((result) => result.acquired)).toHaveLength(1);
  });

  it('a runner whose listing raced with a hand-over (the generation it saw was collected before it was read) does not take a lower generation', async () => {
    // What a loaded machine does to the local store's list(): the folder is read, the process is
    // preempted, and by the time each key is looked at, another runner took generation 2 and
    // collected generation 1; the listing then holds no generation at all.
    let pauseListing: Promise<void> | undefined;
    const slowList = Object.assign(Object.create(store) as LocalFolderStore, {
      list: async function* (prefix: string) {
        const seen: string[] = [];
        for await (const object of store.list(prefix)) seen.push(object.key);
        await pauseListing;
        for (const key of seen) {
          const info = await store.head(key);
          if (info) yield info;
        }
      },
    });
    const a = lock('a');
    await a.acquire();
    await a.release();
    let resume: () => void = () => {};
    pauseListing = new Promise((resolve) => (resume = resolve));
    const c = new PartitionLock({ store: slowList, partition: PARTITION, leaseMs: 60_000, waitMs: 0, owner: 'c', now: () => clock, sleep: noSleep });
    const racing = c.acquire();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const b = lock('b');
    expect(await b.acquire()).toMatchObject({ acquired: true, generation: 2 });
    pauseListing = undefined;
    resume();
    // Before the fix, c created generation 1 (nothing listed, so "free") and went on to run the
    // job beside b, failing later at its commit with "lock lost: taken over by b".
    expect(await racing).toMatchObject({ acquired: false, holder: { owner: 'b', generation: 2 } });
    await b.assertHeld(0);
    expect(await generations()).toEqual(['lock.000000000002.json']);
  });

  it('a lock held by a process of this machine that no longer exists is free at once', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const body: LockBody = {
      owner: 'dead',
      host: hostname(),
      pid: Number(dead.stdout.toString()),
      generation: 7,
      acquired_at: clock.toISOString(),
      expires_at: new Date(clock.getTime() + 3_600_000).toISOString(),
      released: false,
    };
    await store.putBytes(lockKey(PARTITION, 7), JSON.stringify(body));
    expect(await lock('b').acquire()).toMatchObject({ acquired: true, generation: 8, tookOver: { owner: 'dead' } });
  });

  it('a lock of a live process on another machine is honoured until its lease ends', async () => {
    const body: LockBody = {
      owner: 'far',
      host: 'another-host',
      pid: 1,
      generation: 3,
      acquired_at: clock.toISOString(),
      expires_at: new Date(clock.getTime() + 30_000).toISOString(),
      released: false,
    };
    await store.putBytes(lockKey(PARTITION, 3), JSON.stringify(body));
    expect((await lock('b').acquire()).acquired).toBe(false);
    clock = new Date(clock.getTime() + 30_000);
    expect((await lock('b').acquire()).acquired).toBe(true);
  });

  it('an unreadable lock body counts as held for one lease from when it was written', async () => {
    await store.putBytes(lockKey(PARTITION, 1), 'not json');
    clock = new Date();
    expect((await lock('b').acquire()).acquired).toBe(false);
    clock = new Date(Date.now() + 61_000);
    expect((await lock('b').acquire()).acquired).toBe(true);
  });

  it('renews its lease before a commit, and refuses to commit when it cannot renew with the margin left', async () => {
    let storeDown = false;
    const flaky = Object.assign(Object.create(store) as LocalFolderStore, {
      putBytes: (...args: Parameters<LocalFolderStore['putBytes']>) => (storeDown ? Promise.reject(new Error('store down')) : store.putBytes(...args)),
    });
    const a = new PartitionLock({ store: flaky, partition: PARTITION, leaseMs: 60_000, waitMs: 0, owner: 'a', now: () => clock, sleep: noSleep });
    await a.acquire();
    clock = new Date(clock.getTime() + 50_000);
    await a.assertHeld(15_000);
    const renewed = JSON.parse((await store.getBytes(lockKey(PARTITION, 1)))!.toString()) as LockBody;
    expect(renewed.expires_at).toBe(new Date(clock.getTime() + 60_000).toISOString());
    storeDown = true;
    clock = new Date(clock.getTime() + 50_000);
    await expect(a.assertHeld(15_000)).rejects.toThrow('store down');
    await a.release().catch(() => {});
  });

  it('a publish that lost its lock leaves the table as it was', async () => {
    const table: TableDefinition = { name: 'flows', root: 'curated', schemaVersion: 1, columns: [{ name: 'a', type: 'INTEGER', nullable: false, doc: 'a' }], orderBy: [], doc: 'test' };
    const file = path.join(dir, 'part.parquet');
    const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '256MB', threads: 1 });
    await session.run(`COPY (SELECT 1::INTEGER AS a) TO ${sqlString(file)} (FORMAT parquet)`);
    session.close();
    const logger = createLogger({ level: 'error', write: () => {} });
    const a = lock('a');
    await a.acquire();
    await publishPartition({ store, partition: PARTITION, runId: 'r1', attemptId: 'v1', tables: [{ table, files: [{ localPath: file, rows: 1 }] }], logger, beforeCommit: () => a.assertHeld(0) });
    clock = new Date(clock.getTime() + 61_000);
    await lock('b').acquire();
    await expect(
      publishPartition({ store, partition: PARTITION, runId: 'r2', attemptId: 'v2', tables: [{ table, files: [{ localPath: file, rows: 1 }] }], logger, beforeCommit: () => a.assertHeld(0) }),
    ).rejects.toThrow(LockLostError);
    expect((await readPublishedPartition(store, table, PARTITION))?.attempt_id).toBe('v1');
  });
});
