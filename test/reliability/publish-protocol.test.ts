import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { startRunner, type RunnerChild } from '../orchestration/support/child-runner.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { count, randomInt, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suites 1 and 3 of issue 8, through orchestration's runner processes (partition lock, ledger,
 * publish): the real job is SIGKILLed at random object-store operations and random moments, and
 * several runner processes race for one partition. Counted after every kill: manifests naming a
 * file that is missing or has other bytes (a partial partition visible to readers). At the end:
 * the rerun's rows equal a clean run's, and no version folder is left that no manifest names.
 */
const seed = suiteSeed();
const KILLS = count(200, 2);
const RACES = count(100, 1);
const PARTITION = { dt: '2024-05-01', hour: '13' };

async function rowDigests(lake: LakeFixture): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const session = await DuckDbSession.open({ workDir: path.join(lake.dir, `digest-${Date.now()}`), readableDirs: [path.join(lake.dir, 'lake')], memoryLimit: '512MB', maxTempDirectorySize: '1GB' });
  try {
    for (const table of PUBLISHED_TABLES) {
      const manifest = await readPublishedPartition(lake.store, table, PARTITION);
      if (!manifest || manifest.files.length === 0) {
        out[table.name] = manifest ? 'empty' : 'unpublished';
        continue;
      }
      const files = manifest.files.map((file) => sqlString(lake.store.localPathOf!(file.key)!)).join(', ');
      const reader = `read_parquet([${files}], hive_partitioning = false)`;
      const lines = (await session.all(`SELECT * FROM ${reader}`)).map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
      out[table.name] = `${lines.length}:${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
    }
  } finally {
    session.close();
  }
  return out;
}

/** Manifests naming a file that is missing or whose bytes differ from what the manifest recorded. */
async function partialPartitions(lake: LakeFixture): Promise<string[]> {
  const problems: string[] = [];
  for (const table of PUBLISHED_TABLES) {
    const manifest = await readPublishedPartition(lake.store, table, PARTITION);
    if (!manifest) continue;
    for (const file of manifest.files) {
      const bytes = await lake.store.getBytes(file.key);
      if (!bytes) problems.push(`${table.name}: ${file.key} missing`);
      else if (bytes.length !== file.bytes || createHash('sha256').update(bytes).digest('hex') !== file.sha256) problems.push(`${table.name}: ${file.key} differs`);
    }
  }
  return problems;
}

/** Files in the partition's folder that the table's log neither names nor removed within the grace period (the fixture's is 0). */
async function orphans(lake: LakeFixture): Promise<string[]> {
  const found: string[] = [];
  for (const table of PUBLISHED_TABLES) {
    const current = new Set((await readPublishedPartition(lake.store, table, PARTITION))?.files.map((file) => file.key));
    for await (const object of lake.store.list(`${table.root}/${table.name}/dt=${PARTITION.dt}/hour=${PARTITION.hour}/`)) if (!current.has(object.key)) found.push(object.key);
  }
  return found;
}

describe('publish protocol under SIGKILL and concurrent publishers', () => {
  let lake: LakeFixture;
  let configFile: string;
  let clean: Record<string, string>;

  beforeAll(async () => {
    lake = await createLakeFixture({ config: { locks: { lease: '10m', wait: '5m' } } });
    await deliverSamples({ store: lake.store });
    configFile = path.join(lake.dir, 'config.json');
    await writeFile(configFile, JSON.stringify(lake.config));
  });
  afterAll(() => lake?.cleanup());

  async function runToEnd(): Promise<{ status: string; attemptId: string; ops: number }> {
    const runner = startRunner(configFile, '2024-05-01T13');
    await runner.ready;
    runner.go();
    const outcome = await runner.exited;
    expect(outcome.code, outcome.stderr).toBe(0);
    return outcome.result!;
  }

  it(
    `${KILLS} SIGKILLs during runs and publishes: partial partitions visible 0, rerun identical to a clean run, orphans after collection 0`,
    async () => {
      const first = await runToEnd();
      expect(first.status).toBe('published');
      clean = await rowDigests(lake);
      const random = seededRandom(seed);
      const started = Date.now();
      const killedAt: Record<string, number> = { 'store op (before)': 0, 'store op (after)': 0, 'random moment': 0, 'finished first': 0 };
      const partial: string[] = [];
      let spare: RunnerChild = startRunner(configFile, '2024-05-01T13');
      for (let kill = 0; kill < KILLS; kill++) {
        const runner = spare;
        await runner.ready;
        spare = startRunner(configFile, '2024-05-01T13');
        if (kill % 4 !== 3) {
          // Mostly at object store operations, weighted to the publish: the last third of a run's operations.
          const op = random() < 0.6 ? first.ops - randomInt(random, Math.ceil(first.ops / 3)) : 1 + randomInt(random, first.ops);
          const when = random() < 0.5 ? ('before' as const) : ('after' as const);
          runner.go({ killAtOp: Math.max(1, op), when });
          const outcome = await runner.exited;
          if (outcome.signal === 'SIGKILL') killedAt[`store op (${when})`]!++;
          else killedAt['finished first']!++;
        } else {
          runner.go();
          await new Promise((resolve) => setTimeout(resolve, randomInt(random, 3000)));
          runner.process.kill('SIGKILL');
          const outcome = await runner.exited;
          if (outcome.signal === 'SIGKILL') killedAt['random moment']!++;
          else killedAt['finished first']!++;
        }
        partial.push(...(await partialPartitions(lake)).map((p) => `after kill ${kill}: ${p}`));
      }
      spare.process.kill('SIGKILL');
      await spare.exited;
      const final = await runToEnd();
      // A second run collects what the final run's grace period (0 here) left: the killed attempts' folders.
      const collector = await runToEnd();
      const rerun = await rowDigests(lake);
      const leftOver = await orphans(lake);
      reportFigures('publish-protocol/kills', {
        seed,
        kills: KILLS,
        by_point: killedAt,
        ops_per_run: first.ops,
        partial_partitions_visible: partial.length,
        rerun_identical_to_clean: JSON.stringify(rerun) === JSON.stringify(clean),
        final: final.status,
        collector: collector.status,
        orphans_after_collection: leftOver.length,
        elapsed_s: Math.round((Date.now() - started) / 1000),
      });
      expect(partial).toEqual([]);
      expect(final.status).toBe('published');
      expect(rerun).toEqual(clean);
      expect(leftOver).toEqual([]);
    },
    6 * 3600_000,
  );

  it(
    `${RACES} races of 3 runners for one partition, each with new input: exactly one winner, no lost update`,
    async () => {
      if (!(await readPublishedPartition(lake.store, PUBLISHED_TABLES[0]!, PARTITION))) expect((await runToEnd()).status).toBe('published');
      const started = Date.now();
      const winners: number[] = [];
      const lost: string[] = [];
      const before = Number((await readPublishedPartition(lake.store, PUBLISHED_TABLES[0]!, PARTITION))!.rows);
      for (let race = 0; race < RACES; race++) {
        // A new agent segment for the hour, so that each race has inputs nobody published yet.
        const record = JSON.stringify({
          v: 1,
          vm_id: 'i-0race0000000001',
          interface_id: 'eth0',
          interval_start_at: '2024-05-01T13:30:00.000Z',
          interval_s: 60,
          start_at: '2024-05-01T13:30:01.000Z',
          end_at: '2024-05-01T13:30:02.000Z',
          src_ip: '10.0.2.10',
          dst_ip: '10.0.3.10',
          src_port: 20000 + race,
          dst_port: 1433,
          protocol: 6,
          direction: 'egress',
          packets: 1,
          bytes: 60,
          tcp_flags: 2,
        });
        await lake.store.putBytes(`raw/agent/dt=2024-05-01/hour=13/vm=i-0race0000000001/i-0race0000000001-${String(race).padStart(12, '0')}.ndjson.gz`, gzipSync(`${record}\n`));
        const runners = [0, 1, 2].map(() => startRunner(configFile, '2024-05-01T13'));
        await Promise.all(runners.map((runner) => runner.ready));
        for (const runner of runners) runner.go();
        const outcomes = await Promise.all(runners.map((runner) => runner.exited));
        const statuses = outcomes.map((o) => o.result?.status ?? `exit ${o.code}`);
        const published = outcomes.filter((o) => o.result?.status === 'published');
        winners.push(published.length);
        const manifest = (await readPublishedPartition(lake.store, PUBLISHED_TABLES[0]!, PARTITION))!;
        if (published.length !== 1 || manifest.attempt_id !== published[0]!.result!.attemptId) lost.push(`race ${race}: ${statuses.join(', ')}`);
        if (manifest.rows !== before + race + 1) lost.push(`race ${race}: flows ${manifest.rows}, expected ${before + race + 1}`);
      }
      reportFigures('publish-protocol/races', {
        seed,
        races: RACES,
        runners_per_race: 3,
        races_with_exactly_one_winner: winners.filter((w) => w === 1).length,
        lost_updates: lost.length,
        partial_partitions_visible: (await partialPartitions(lake)).length,
        elapsed_s: Math.round((Date.now() - started) / 1000),
      });
      expect(lost).toEqual([]);
      expect(winners.every((w) => w === 1)).toBe(true);
    },
    6 * 3600_000,
  );
});
