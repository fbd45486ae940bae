import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { CommitConflictError, commitsPrefix } from '../../lib/publish/commit-manifest.ts';
import { readManifest } from '../../lib/publish/manifest-store.ts';
import { publishPartition } from '../../lib/publish/publish-partition.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { flowsTable } from '../../schemas/tables/index.ts';
import { count, reportFigures } from './support/reliability-run.ts';

/**
 * The conditional manifest commit (lib/publish/commit-manifest.ts) without any partition lock:
 * writers that start from the same state race, exactly one commits and the others fail with
 * CommitConflictError, leaving the winner's manifest; a commit whose response is lost is
 * resolved by reading the claim back, never by deleting files.
 */
const ROUNDS = count(100, 10);
const WRITERS = 3;
const PARTITION = { dt: '2024-07-01', hour: '05' };
const logger = createLogger({ level: 'error', write: () => {} });

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-commit-'));
  const session = await DuckDbSession.open({ workDir: path.join(dir, 'stage'), memoryLimit: '128MB', maxTempDirectorySize: '64MB' });
  file = path.join(dir, 'stage', 'flows.parquet');
  await session.run(`COPY (SELECT ${flowsTable.columns.map((c) => `CAST(NULL AS ${c.type}) AS "${c.name}"`).join(', ')}) TO ${sqlString(file)} (FORMAT parquet)`);
  session.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const publish = (store: ObjectStore, attemptId: string) =>
  publishPartition({ store, partition: PARTITION, runId: `run-${attemptId}`, attemptId, tables: [{ table: flowsTable, files: [{ localPath: file, rows: 1 }] }], logger, gracePeriodMs: 3_600_000 });

describe('conditional manifest commit', () => {
  it(`${ROUNDS} rounds of ${WRITERS} unlocked writers from the same state: exactly one commits, the others fail cleanly`, async () => {
    const store = new LocalFolderStore(path.join(dir, 'lake'));
    let exactlyOne = 0;
    let lostUpdates = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Every writer has uploaded its data and read the same latest commit before any claims.
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let waiting = 0;
      const gated: ObjectStore = Object.create(store, {
        putBytes: {
          value: async (key: string, body: Buffer | string, options?: { createOnly?: boolean }) => {
            if (options?.createOnly && key.includes('/_commits/')) {
              if (++waiting === WRITERS) release();
              await gate;
            }
            return store.putBytes(key, body, options);
          },
        },
      });
      const outcomes = await Promise.allSettled(Array.from({ length: WRITERS }, (_, w) => publish(gated, `r${round}-w${w}`)));
      const winners = outcomes.flatMap((o, w) => (o.status === 'fulfilled' ? [`r${round}-w${w}`] : []));
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(CommitConflictError);
      if (winners.length === 1) exactlyOne++;
      const manifest = await readManifest(store, flowsTable, PARTITION);
      if (winners.length !== 1 || manifest?.attempt_id !== winners[0]) lostUpdates++;
    }
    const claims: string[] = [];
    for await (const object of store.list(commitsPrefix(flowsTable, PARTITION))) claims.push(object.key);
    reportFigures('manifest-commit/races', { rounds: ROUNDS, writers: WRITERS, rounds_with_exactly_one_winner: exactlyOne, lost_updates: lostUpdates, commits: claims.length });
    expect(exactlyOne).toBe(ROUNDS);
    expect(lostUpdates).toBe(0);
    expect(claims.length).toBe(ROUNDS);
  });

  it('a lost response on the commit is resolved by reading back: the writer knows it won', async () => {
    const store = new LocalFolderStore(path.join(dir, 'lake-lost'));
    await publish(store, 'first');
    const lossy: ObjectStore = Object.create(store, {
      putBytes: {
        value: async (key: string, body: Buffer | string, options?: { createOnly?: boolean }) => {
          const info = await store.putBytes(key, body, options);
          if (options?.createOnly && key.includes('/_commits/')) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          return info;
        },
      },
    });
    await expect(publish(lossy, 'second')).resolves.toHaveLength(1);
    expect((await readManifest(store, flowsTable, PARTITION))?.attempt_id).toBe('second');
    // A claim that failed without landing is an error, not a conflict, and publishes nothing.
    const failing: ObjectStore = Object.create(store, {
      putBytes: {
        value: async (key: string, body: Buffer | string, options?: { createOnly?: boolean }) => {
          if (options?.createOnly && key.includes('/_commits/')) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          return store.putBytes(key, body, options);
        },
      },
    });
    await expect(publish(failing, 'third')).rejects.toThrow(/socket hang up/);
    expect((await readManifest(store, flowsTable, PARTITION))?.attempt_id).toBe('second');
  });
});
