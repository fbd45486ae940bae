import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../lib/cli/commands/demo-command.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { createObjectStore } from '../../lib/storage/create-object-store.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { startRunner } from './support/child-runner.ts';

// 8 in the normal suite (each kill costs about one run, ~2 s): the same kills at object store
// operations and random moments run 200 times in the reliability suite's full mode
// (test/reliability/publish-protocol.test.ts); NETFLOW_KILL_TEST_KILLS for a longer soak here.
const KILLS = Number(process.env['NETFLOW_KILL_TEST_KILLS'] ?? 8);
const PARTITION = { dt: '2024-05-01', hour: '13' };

/** A seeded generator, so a failing sequence of kill points can be replayed (the seed is in the test name). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env['NETFLOW_KILL_TEST_SEED'] ?? 20241128);
/** `s3` runs the same kills against the test S3 server (a longer soak; the suite uses the local folder). */
const STORE = process.env['NETFLOW_KILL_TEST_STORE'] === 's3' ? 's3' : 'local';

// SIGKILL a runner process at random points of a run (staging, DuckDB, export, upload, between
// manifests, in the lock's bookkeeping): after every kill each table still resolves to one whole
// version through its manifest, and the next run takes over the dead runner's lock and publishes.
describe(`SIGKILL at random points of a run (${KILLS} kills, seed ${SEED}, ${STORE} store)`, () => {
  let lake: LakeFixture;
  let configFile: string;
  let server: S3TestServer | undefined;

  beforeAll(async () => {
    if (STORE === 's3') {
      server = await startS3Server();
      const store = { type: 's3' as const, bucket: server.bucket, prefix: 'kill/', region: server.region, endpoint: server.endpoint, force_path_style: true };
      lake = await createLakeFixture({ config: { store, locks: { lease: '10m', wait: '1m' } } });
      lake = { ...lake, store: createObjectStore(lake.config.store) };
    } else {
      lake = await createLakeFixture({ config: { locks: { lease: '10m', wait: '1m' } } });
    }
    await deliverSamples({ store: lake.store });
    configFile = path.join(lake.dir, 'config.json');
    await writeFile(configFile, JSON.stringify(lake.config));
  });
  afterAll(async () => {
    await lake?.cleanup();
    await server?.stop();
  });

  async function runToEnd(): Promise<{ status: string; attemptId: string; ops: number }> {
    const runner = startRunner(configFile, '2024-05-01T13');
    await runner.ready;
    runner.go();
    const outcome = await runner.exited;
    expect(outcome.code, outcome.stderr).toBe(0);
    return outcome.result!;
  }

  /**
   * Every table's manifest names files that exist with the bytes it recorded (size and sha256),
   * and, read through DuckDB as `netflow query` reads, the hour is the whole partition.
   */
  async function expectWholePartition(withDuckDb = true): Promise<void> {
    for (const table of PUBLISHED_TABLES) {
      const manifest = await readPublishedPartition(lake.store, table, PARTITION);
      expect(manifest, table.name).toBeDefined();
      for (const file of manifest!.files) {
        const bytes = await lake.store.getBytes(file.key);
        expect(bytes?.length, file.key).toBe(file.bytes);
        expect(createHash('sha256').update(bytes!).digest('hex'), file.key).toBe(file.sha256);
      }
    }
    if (!withDuckDb) return;
    const [row] = await queryLake<{ flows: bigint; alerts: bigint }>(
      lake,
      `SELECT (SELECT count(*) FROM flows WHERE start_at >= TIMESTAMP '2024-05-01 13:00:00' AND start_at < TIMESTAMP '2024-05-01 14:00:00') AS flows,
              (SELECT count(*) FROM alerts WHERE hour_at = TIMESTAMP '2024-05-01 13:00:00') AS alerts`,
    );
    expect(row).toEqual({ flows: 436n, alerts: 4n });
  }

  it('keeps the previous version readable after every kill, and the next run completes cleanly', { timeout: 240_000 }, async () => {
    const started = Date.now();
    const first = await runToEnd();
    expect(first.status).toBe('published');
    const runMs = Date.now() - started;
    const random = mulberry32(SEED);
    const killedAt: string[] = [];
    // The next runner loads while the current one runs and dies, so a kill costs about one run.
    let spare = startRunner(configFile, '2024-05-01T13');
    for (let kill = 0; kill < KILLS; kill++) {
      const runner = spare;
      await runner.ready;
      spare = startRunner(configFile, '2024-05-01T13');
      if (kill % 3 !== 2) {
        // Two kills in three at a store operation: lock bookkeeping, listing, staging downloads,
        // uploads, between two tables' manifests, during collection.
        const point = { killAtOp: 1 + Math.floor(random() * first.ops), when: random() < 0.5 ? ('before' as const) : ('after' as const) };
        runner.go(point);
        const outcome = await runner.exited;
        expect(outcome.signal, `op ${point.killAtOp} ${point.when}: ${outcome.stderr}`).toBe('SIGKILL');
        killedAt.push(`op${point.killAtOp}${point.when[0]}`);
      } else {
        // One in three at a moment, which also lands inside DuckDB's work.
        runner.go();
        const delay = Math.floor(random() * runMs * 0.8);
        await new Promise((resolve) => setTimeout(resolve, delay));
        runner.process.kill('SIGKILL');
        const outcome = await runner.exited;
        killedAt.push(`${delay}ms:${outcome.signal ?? outcome.result?.status}`);
      }
      // DuckDB's read every fourth kill (and after the last): the byte checks run after every one.
      await expectWholePartition(kill % 4 === 3 || kill === KILLS - 1);
    }
    spare.process.kill('SIGKILL');
    await spare.exited;
    const final = await runToEnd();
    expect(final.status, killedAt.join(' ')).toBe('published');
    await expectWholePartition();
    // Files of killed attempts and of replaced versions were collected (grace period 0 in the
    // fixture): only the final commit's files remain in the partition's folder.
    for (const table of PUBLISHED_TABLES) {
      const files: string[] = [];
      for await (const object of lake.store.list(`${table.root}/${table.name}/dt=2024-05-01/hour=13/`)) files.push(object.key.split('/').at(-1)!);
      expect(files, table.name).toEqual([`part-00000-${final.attemptId}.parquet`]);
    }
  });
});
