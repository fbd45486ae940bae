import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScaleOutHour } from '../../bench/scale-out-hour.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { discoverObjects } from '../../jobs/hourly-etl.ts';
import { assignShards } from '../../lib/scale-out/shard-assignment.ts';
import { hourStagingPrefix, listShardMarkers } from '../../lib/scale-out/shard-staging.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { commitShards, lakeWithRawOf, netflowProcess, partitionDigests, roundRawMtimes, runShards } from '../scale-out/support/shard-harness.ts';
import { count, FULL, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * An hour run as N shard worker processes and committed publishes exactly what one run
 * publishes (every table, every column, the run id), over the sample hours, over a generated
 * hour from four sources with late and quarantined records, and after shard workers were
 * SIGKILLed at random moments and run again. npm test runs 2 shards of one sample hour
 * (test/scale-out/shard-commit.test.ts); NETFLOW_RELIABILITY_FULL=1 runs the full counts here.
 */
const SAMPLE_HOURS = FULL ? ['2024-05-01T13', '2024-05-01T14'] : ['2024-05-01T13'];
const SHARD_COUNTS = FULL ? [1, 2, 4, 7] : [1, 4];
const GENERATED_FLOWS = count(1_000_000, 100_000);
const KILLS = count(20, 5);
const SEED = suiteSeed();

describe('shards and the commit', () => {
  let samples: LakeFixture;
  const expected: Record<string, Record<string, string>> = {};
  const lakes: LakeFixture[] = [];

  beforeAll(async () => {
    samples = await createLakeFixture();
    await deliverSamples({ store: samples.store });
    await roundRawMtimes(samples);
    for (const hour of SAMPLE_HOURS) {
      expect((await samples.runHour(hour)).status).toBe('published');
      expected[hour] = await partitionDigests(samples, hour);
    }
  });
  afterAll(async () => {
    for (const lake of [samples, ...lakes]) await lake?.cleanup();
  });

  it.each(SHARD_COUNTS)(`sample hours (${SAMPLE_HOURS.join(', ')}) as %i shard processes equal the single-machine run`, async (shards) => {
    const lake = await lakeWithRawOf(samples);
    lakes.push(lake);
    for (const hour of SAMPLE_HOURS) {
      const outcomes = await runShards(lake, hour, shards, 2);
      for (const [index, outcome] of outcomes.entries()) expect(outcome.code, `${hour} shard ${index}/${shards}: ${outcome.stderr}`).toBe(0);
      const commit = await commitShards(lake, hour, shards);
      expect(commit.code, commit.stderr).toBe(0);
      expect(await partitionDigests(lake, hour), hour).toEqual(expected[hour]);
    }
  });

  it(`a shard worker SIGKILLed ${KILLS} times at random moments, then run again: the same result (seed ${SEED})`, { timeout: FULL ? 600_000 : 180_000 }, async () => {
    const hour = SAMPLE_HOURS[0]!;
    const shards = 3;
    const lake = await lakeWithRawOf(samples);
    lakes.push(lake);
    const random = seededRandom(SEED);
    const started = Date.now();
    // One shard's run time on this machine now, to spread the kills over a whole run.
    const timed = await netflowProcess(lake.dir, ['run', '--hour', hour, '--shard', `0/${shards}`, '--config', lake.configFile, '--quiet']);
    expect(timed.code, timed.stderr).toBe(0);
    const shardMs = Date.now() - started;
    const killedAt: string[] = [];
    // Until KILLS runs died by SIGKILL (a run that finished before its moment counts as none).
    for (let run = 0; killedAt.filter((kill) => kill.endsWith('SIGKILL')).length < KILLS && run < 3 * KILLS; run++) {
      const index = Math.floor(random() * shards);
      const delay = Math.floor(random() * shardMs);
      const outcome = await netflowProcess(lake.dir, ['run', '--hour', hour, '--shard', `${index}/${shards}`, '--config', lake.configFile, '--quiet'], delay);
      killedAt.push(`${index}@${delay}ms:${outcome.signal ?? `exit ${outcome.code}`}`);
      expect(outcome.signal === 'SIGKILL' || outcome.code === 0, outcome.stderr).toBe(true);
      // A shard that finished before its kill is run again from scratch next time (its marker
      // gone, as if never finished): its new attempt replaces the old one's files.
      if (outcome.code === 0)
        for (const marker of await listShardMarkers(lake.store, hour))
          if (marker.shard === index && marker.shards === shards) await lake.store.delete(`${hourStagingPrefix(hour)}${marker.runId}/${index}-of-${shards}/done.json`);
      // A shard publishes nothing, killed or not: the curated tables stay empty.
      expect(await curatedKeys(lake)).toEqual([]);
    }
    const outcomes = await runShards(lake, hour, shards, 2);
    for (const [index, outcome] of outcomes.entries()) expect(outcome.code, `shard ${index}: ${outcome.stderr}`).toBe(0);
    // Each shard keeps one attempt: the one its done marker names.
    const markers = (await listShardMarkers(lake.store, hour)).filter((marker) => marker.shards === shards);
    expect(markers.map((marker) => marker.shard).sort()).toEqual([0, 1, 2]);
    for (const marker of markers) {
      const attempts = new Set<string>();
      for await (const object of lake.store.list(`${hourStagingPrefix(hour)}${marker.runId}/${marker.shard}-of-${shards}/`)) {
        const attempt = object.key.split('/').at(-2)!;
        if (!object.key.endsWith('done.json')) attempts.add(attempt);
      }
      expect(attempts.size, `shard ${marker.shard}`).toBe(1);
    }
    const commit = await commitShards(lake, hour, shards);
    expect(commit.code, `${killedAt.join(' ')}: ${commit.stderr}`).toBe(0);
    expect(await partitionDigests(lake, hour)).toEqual(expected[hour]);
    const sigkills = killedAt.filter((kill) => kill.endsWith('SIGKILL')).length;
    expect(sigkills).toBe(KILLS);
    reportFigures('scale-out kills', { seed: SEED, runs: killedAt.length, sigkills, killed_at: killedAt, shard_ms: shardMs });
  });

  it(
    `a generated hour of ${GENERATED_FLOWS} flows from four sources, with late and quarantined records, as 4 shard processes equals the single-machine run`,
    { timeout: FULL ? 900_000 : 300_000 },
    async () => {
      const single = await createLakeFixture();
      lakes.push(single);
      const generated = await generateScaleOutHour(path.join(single.dir, 'lake'), GENERATED_FLOWS);
      await roundRawMtimes(single);
      const hour = '2024-05-01T13';
      const singleStarted = Date.now();
      const run = await single.runHour(hour);
      const singleMs = Date.now() - singleStarted;
      expect(run.status, run.error).toBe('published');
      expect(run.counts.late).toBeGreaterThan(0);
      expect(run.counts.quarantined).toBeGreaterThan(0);
      expect(run.counts.objects_quarantined).toBe(1);
      expect(Object.keys(run.countsBySource).sort()).toEqual(['agent', 'aws_vpc', 'gcp_vpc', 'oci_vcn']);
      const expectedDigests = await partitionDigests(single, hour);

      const lake = await lakeWithRawOf(single);
      lakes.push(lake);
      const shards = 4;
      const shardsStarted = Date.now();
      const outcomes = await runShards(lake, hour, shards, 2);
      const shardsMs = Date.now() - shardsStarted;
      for (const [index, outcome] of outcomes.entries()) expect(outcome.code, `shard ${index}: ${outcome.stderr}`).toBe(0);
      const commitStarted = Date.now();
      const commit = await commitShards(lake, hour, shards);
      const commitMs = Date.now() - commitStarted;
      expect(commit.code, commit.stderr).toBe(0);
      expect(await partitionDigests(lake, hour)).toEqual(expectedDigests);

      // The connections whose observations (two agents, GCP's SRC and DEST) fell into different shards each count once.
      const assignment = assignShards(await discoverObjects(lake.store, lake.config, new Date(`${hour}:00:00Z`)), shards);
      const shardOf = new Map(assignment.flatMap((keys, index) => keys.map((key) => [key, index] as const)));
      const merged = await queryLake<{ keys: string[]; counted: bigint }>(
        lake,
        `SELECT list(raw_object_key) AS keys, count(*) FILTER (WHERE counts_in_totals) AS counted FROM flows WHERE len(observed_by) > 1 GROUP BY counted_flow_id`,
      );
      const split = merged.filter((connection) => new Set(connection.keys.map((key) => shardOf.get(key))).size > 1);
      expect(split.length).toBeGreaterThan(1000);
      expect(split.filter((connection) => connection.counted !== 1n)).toEqual([]);
      reportFigures('scale-out generated hour', {
        flows: GENERATED_FLOWS,
        objects: generated.objects,
        shards,
        single_ms: singleMs,
        shards_ms: shardsMs,
        commit_ms: commitMs,
        split_connections: split.length,
      });
    },
  );
});

async function curatedKeys(lake: LakeFixture): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of lake.store.list('curated/')) keys.push(object.key);
  return keys;
}
