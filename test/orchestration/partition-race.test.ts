import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../lib/cli/commands/demo-command.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { lockPrefix } from '../../lib/publish/partition-lock.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import type { S3StoreConfig } from '../../schemas/config.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { startRunner } from './support/child-runner.ts';

// Two processes race for one hour on a shared S3 store (two machines would look the same to the
// store): one publishes, the other waits for the partition lock, sees the same inputs published
// and records `skipped`. The store ends with one version per table.
describe('two runner processes racing for the same hour', () => {
  let server: S3TestServer;
  let store: S3ObjectStore;
  let lake: LakeFixture;

  beforeAll(async () => {
    server = await startS3Server();
    const storeConfig = { type: 's3' as const, bucket: server.bucket, prefix: 'race/', region: server.region, endpoint: server.endpoint, force_path_style: true };
    lake = await createLakeFixture({ config: { store: storeConfig, locks: { lease: '30s', wait: '2m' } } });
    store = new S3ObjectStore(lake.config.store as S3StoreConfig);
    lake = { ...lake, store };
    await deliverSamples({ store });
    await writeFile(path.join(lake.dir, 'config.json'), JSON.stringify(lake.config));
  });
  afterAll(async () => {
    store?.destroy();
    await lake?.cleanup();
    await server?.stop();
  });

  it('publishes one clean version; the other runner waits and skips', { timeout: 240_000 }, async () => {
    const runners = [0, 1].map(() => startRunner(path.join(lake.dir, 'config.json'), '2024-05-01T13'));
    await Promise.all(runners.map((runner) => runner.ready));
    for (const runner of runners) runner.go();
    const outcomes = await Promise.all(runners.map((runner) => runner.exited));
    for (const outcome of outcomes) expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcomes.map((outcome) => outcome.result?.status).sort()).toEqual(['published', 'skipped']);
    const winner = outcomes.find((outcome) => outcome.result?.status === 'published')!.result!;

    for (const table of PUBLISHED_TABLES) {
      const manifest = await readPublishedPartition(store, table, { dt: '2024-05-01', hour: '13' });
      expect(manifest?.attempt_id, table.name).toBe(winner.attemptId);
      const files: string[] = [];
      for await (const object of store.list(`${table.root}/${table.name}/dt=2024-05-01/hour=13/`)) files.push(object.key.split('/').at(-1)!);
      expect(files, table.name).toEqual([`part-00000-${winner.attemptId}.parquet`]);
    }
    const [{ n }] = (await queryLake(lake, `SELECT count(*) AS n FROM flows WHERE start_at < TIMESTAMP '2024-05-01 14:00:00'`)) as [{ n: bigint }];
    expect(n).toBe(436n);

    const ledger = await new RunLedger(lake.config.ledger.path).entries();
    expect(ledger.map((entry) => entry.status).sort()).toEqual(['published', 'skipped']);
    // Both released the lock: one generation is left, marked released.
    const locks: string[] = [];
    for await (const object of store.list(lockPrefix({ dt: '2024-05-01', hour: '13' }))) locks.push(object.key);
    expect(locks).toHaveLength(1);
    expect(JSON.parse((await store.getBytes(locks[0]!))!.toString()).released).toBe(true);
  });
});
