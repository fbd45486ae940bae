import { cp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { discoverObjects } from '../../jobs/hourly-etl.ts';
import { assignShards } from '../../lib/scale-out/shard-assignment.ts';
import { hourStagingPrefix } from '../../lib/scale-out/shard-staging.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { commitPartOfHour, commitShardsOfHour, runShardOfHour } from '../../orchestration/shard-hour.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { commitShards, lakeWithRawOf, partitionDigests, roundRawMtimes, runCommitParts, runShards } from './support/shard-harness.ts';

const HOUR = '2024-05-01T13';

// An hour run as N shard workers (separate `netflow run --hour H --shard i/N` processes) and
// committed (`netflow commit`) publishes exactly what one `netflow run --hour H` publishes: every
// table, every column, the run id included. Here 2 shard processes (the whole file: about 25 s on an idle machine); 1, 2, 4
// and 7 over both sample hours, the 1 M-flow hour and the kills: test/reliability/scale-out.test.ts.
describe('an hour split across shard workers, then committed', () => {
  let single: LakeFixture;
  let expected: Record<string, string>;
  let singleRunId: string;
  const lakes: LakeFixture[] = [];

  beforeAll(async () => {
    single = await createLakeFixture();
    await deliverSamples({ store: single.store });
    await roundRawMtimes(single);
    const run = await single.runHour(HOUR);
    expect(run.status).toBe('published');
    singleRunId = run.runId;
    expected = await partitionDigests(single, HOUR);
  });
  afterAll(async () => {
    for (const lake of [single, ...lakes]) await lake?.cleanup();
  });

  it.each([2])('%i shard processes: every published table equals the single-machine run, and the ledger records the same run', async (shards) => {
    const lake = await lakeWithRawOf(single);
    lakes.push(lake);
    const outcomes = await runShards(lake, HOUR, shards, 3);
    for (const [index, outcome] of outcomes.entries()) expect(outcome.code, `shard ${index}/${shards}: ${outcome.stderr}`).toBe(0);
    const commit = await commitShards(lake, HOUR, shards);
    expect(commit.code, commit.stderr).toBe(0);
    expect(await partitionDigests(lake, HOUR)).toEqual(expected);
    const entries = await runLedgerOf({ config: lake.config, baseDir: lake.dir }).entries();
    expect(entries.map((entry) => [entry.status, entry.run_id, entry.trigger])).toEqual([['published', singleRunId, 'commit']]);
    const [singleEntry] = await runLedgerOf({ config: single.config, baseDir: single.dir }).entries();
    expect(entries[0]!.counts).toEqual(singleEntry!.counts);
    expect(entries[0]!.inputs).toEqual(singleEntry!.inputs);
    // The shards' staging is gone once the hour is published.
    const left: string[] = [];
    for await (const object of lake.store.list(hourStagingPrefix(HOUR))) left.push(object.key);
    expect(left).toEqual([]);

    if (shards > 1) {
      // Connections whose observations fell into different shards: each still counts once.
      const assignment = assignShards(await discoverObjects(lake.store, lake.config, new Date(`${HOUR}:00:00Z`)), shards);
      const shardOf = new Map(assignment.flatMap((keys, index) => keys.map((key) => [key, index] as const)));
      const merged = await queryLake<{ counted_flow_id: string; keys: string[]; counted: bigint }>(
        lake,
        `SELECT counted_flow_id, list(raw_object_key) AS keys, count(*) FILTER (WHERE counts_in_totals) AS counted FROM flows WHERE len(observed_by) > 1 GROUP BY counted_flow_id`,
      );
      const split = merged.filter((connection) => new Set(connection.keys.map((key) => shardOf.get(key))).size > 1);
      expect(split.length).toBeGreaterThan(10);
      expect(split.filter((connection) => connection.counted !== 1n)).toEqual([]);
    }
  });

  // The commit's whole-hour work split into M parts by connection (netflow commit --part j/M), then
  // the final commit (--parts M): the same rows again. 2 parts as processes through the CLI, 3 in this process.
  it.each([2, 3])('2 shard processes, then %i commit parts and the final commit: every published table equals the single-machine run', async (parts) => {
    const lake = await lakeWithRawOf(single);
    lakes.push(lake);
    const outcomes = await runShards(lake, HOUR, 2, 2);
    for (const [index, outcome] of outcomes.entries()) expect(outcome.code, `shard ${index}/2: ${outcome.stderr}`).toBe(0);
    const hour = new Date(`${HOUR}:00:00Z`);
    if (parts === 2) {
      for (const [index, outcome] of (await runCommitParts(lake, HOUR, 2, parts)).entries()) expect(outcome.code, `part ${index}/${parts}: ${outcome.stderr}`).toBe(0);
      const commit = await commitShards(lake, HOUR, 2, parts);
      expect(commit.code, commit.stderr).toBe(0);
    } else {
      for (let index = 0; index < parts; index++) {
        const part = await commitPartOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, part: { index, count: parts } });
        expect(part.status, part.error).toBe('staged');
      }
      expect((await commitPartOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, part: { index: 0, count: parts } })).status).toBe('already-staged');
      const commit = await commitShardsOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, parts });
      expect(commit.status, commit.error).toBe('published');
    }
    expect(await partitionDigests(lake, HOUR)).toEqual(expected);
    const entries = await runLedgerOf({ config: lake.config, baseDir: lake.dir }).entries();
    expect(entries.map((entry) => [entry.status, entry.run_id, entry.trigger])).toEqual([['published', singleRunId, 'commit']]);
    const [singleEntry] = await runLedgerOf({ config: single.config, baseDir: single.dir }).entries();
    expect(entries[0]!.counts).toEqual(singleEntry!.counts);
    // One data file of flows and of violations per part, in one Delta commit each.
    for (const table of ['flows', 'violations']) expect((await publishedKeys(lake)).filter((key) => key.startsWith(`curated/${table}/`) && key.endsWith('.parquet'))).toHaveLength(parts);
    const left: string[] = [];
    for await (const object of lake.store.list(hourStagingPrefix(HOUR))) left.push(object.key);
    expect(left).toEqual([]);
  });

  it('refuses to publish while a shard is missing, ran against another listing or lost or damaged a file, naming it, and publishes nothing', async () => {
    const lake = await lakeWithRawOf(single);
    lakes.push(lake);
    const hour = new Date(`${HOUR}:00:00Z`);
    const shard = async (index: number, count: number) => (await runShardOfHour({ ...lake, baseDir: lake.dir, hour, shard: { index, count } })).status;
    const commit = (shards: number) => commitShardsOfHour({ ...lake, baseDir: lake.dir, hour, shards });
    expect(await shard(0, 1)).toBe('staged');
    // Shard 0/1 of a one-shard run is not shard 0/2: the commit of two shards finds neither.
    const missing = await commit(2);
    expect(missing.status).toBe('failed');
    expect(missing.error).toMatch(/^refusing to publish hour 2024-05-01T13: shard 0\/2 is missing \(a shard 0 of 1 shards finished instead\); shard 1\/2 is missing \(no done marker/);
    expect(await publishedKeys(lake)).toEqual([]);

    // A shard of another listing: both shards ran, then an object arrived and the listing was
    // recorded anew (an operator deleted it), and only shard 1 ran since.
    expect([await shard(0, 2), await shard(1, 2)]).toEqual(['staged', 'staged']);
    expect(await shard(1, 2)).toBe('already-staged');
    await lake.store.delete(`${hourStagingPrefix(HOUR)}listing.json`);
    const sample = 'raw/agent/dt=2024-05-01/hour=13/vm=i-0app00000000001/i-0app00000000001-000000000001.ndjson.gz';
    await cp(path.join(lake.dir, 'lake', sample), path.join(lake.dir, 'lake', sample.replace('-000000000001.', '-000000000099.')));
    expect(await shard(1, 2)).toBe('staged');
    const listing = JSON.parse((await lake.store.getBytes(`${hourStagingPrefix(HOUR)}listing.json`))!.toString()) as { run_id: string };
    expect(listing.run_id).not.toBe(singleRunId);
    const mixed = await commit(2);
    expect(mixed.status).toBe('failed');
    expect(mixed.error).toBe(`refusing to publish hour ${HOUR}: shard 0/2 ran against another listing (run id ${singleRunId}; the recorded listing is run id ${listing.run_id})`);
    expect(await publishedKeys(lake)).toEqual([]);
    expect((await runLedgerOf({ config: lake.config, baseDir: lake.dir }).entries()).map((entry) => [entry.status, entry.trigger])).toEqual([
      ['failed', 'commit'],
      ['failed', 'commit'],
    ]);

    // Shard 0 run again, against the recorded listing; then one of shard 1's files lost, then damaged.
    expect(await shard(0, 2)).toBe('staged');
    const shard1 = `${hourStagingPrefix(HOUR)}${listing.run_id}/1-of-2/`;
    const done1 = JSON.parse((await lake.store.getBytes(`${shard1}done.json`))!.toString()) as { files: { key: string; relation: string }[] };
    const lost = done1.files.find((file) => file.relation === 'quarantine')!.key;
    await lake.store.delete(lost);
    expect((await commit(2)).error).toMatch(new RegExp(`^shard 1/2: its file ${lost} cannot be read`));
    expect(await shard(1, 2)).toBe('staged');
    const redone = JSON.parse((await lake.store.getBytes(`${shard1}done.json`))!.toString()) as { files: { key: string; relation: string }[] };
    const damaged = redone.files.find((file) => file.relation === 'record_counts')!.key;
    const bytes = (await lake.store.getBytes(damaged))!;
    bytes[bytes.length >> 1] = 0xff - bytes[bytes.length >> 1]!;
    await lake.store.putBytes(damaged, bytes);
    expect((await commit(2)).error).toMatch(new RegExp(`^shard 1/2: its file ${damaged} is damaged \\(sha256 [0-9a-f]{64}, its done marker says [0-9a-f]{64}\\)$`));
    expect(await publishedKeys(lake)).toEqual([]);
    await lake.store.delete(`${shard1}done.json`);
    expect(await shard(1, 2)).toBe('staged');
    // Now the commit publishes, then says so again.
    expect((await commit(2)).status).toBe('published');
    expect((await commit(2)).status).toBe('skipped');
  });
  it('refuses to publish from commit parts while a part is missing, ran against another listing, or read a shard run again since, naming it, and publishes nothing', async () => {
    const lake = await lakeWithRawOf(single);
    lakes.push(lake);
    const hour = new Date(`${HOUR}:00:00Z`);
    const shard = async (index: number) => (await runShardOfHour({ ...lake, baseDir: lake.dir, hour, shard: { index, count: 2 } })).status;
    const part = async (index: number) => (await commitPartOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, part: { index, count: 2 } })).status;
    const commit = () => commitShardsOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, parts: 2 });
    expect([await shard(0), await shard(1)]).toEqual(['staged', 'staged']);
    // A part refuses as the commit does while a shard is missing.
    const shard1 = `${hourStagingPrefix(HOUR)}${singleRunId}/1-of-2/`;
    const done1 = (await lake.store.getBytes(`${shard1}done.json`))!;
    await lake.store.delete(`${shard1}done.json`);
    const early = await commitPartOfHour({ ...lake, baseDir: lake.dir, hour, shards: 2, part: { index: 0, count: 2 } });
    expect(early.error).toMatch(/^refusing to publish hour 2024-05-01T13: shard 1\/2 is missing/);
    await lake.store.putBytes(`${shard1}done.json`, done1);

    expect(await part(0)).toBe('staged');
    const missing = await commit();
    expect(missing.status).toBe('failed');
    expect(missing.error).toBe(`refusing to publish hour ${HOUR}: part 1/2 is missing (no done marker: it has not finished, or it failed)`);
    expect(await publishedKeys(lake)).toEqual([]);

    // Part 1 of another listing (its done marker moved under another run id), then a part that read a shard run again since.
    expect(await part(1)).toBe('staged');
    const part1 = `${hourStagingPrefix(HOUR)}${singleRunId}/parts/1-of-2/done.json`;
    const otherRunId = 'f'.repeat(singleRunId.length);
    await lake.store.putBytes(part1.replace(singleRunId, otherRunId), (await lake.store.getBytes(part1))!);
    await lake.store.delete(part1);
    expect((await commit()).error).toBe(`refusing to publish hour ${HOUR}: part 1/2 ran against another listing (run id ${otherRunId}; the recorded listing is run id ${singleRunId})`);
    expect(await part(1)).toBe('staged');
    await lake.store.delete(`${shard1}done.json`);
    expect(await shard(1)).toBe('staged');
    expect((await commit()).error).toBe(
      `refusing to publish hour ${HOUR}: part 0/2 read other shard outputs than the shards' current ones (a shard was run again since): run the part again; part 1/2 read other shard outputs than the shards' current ones (a shard was run again since): run the part again`,
    );
    expect(await publishedKeys(lake)).toEqual([]);
    expect([await part(0), await part(1)]).toEqual(['staged', 'staged']);
    expect((await commit()).status).toBe('published');
    expect(await partitionDigests(lake, HOUR)).toEqual(expected);
  });
});

async function publishedKeys(lake: LakeFixture): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of lake.store.list('curated/')) keys.push(object.key);
  return keys;
}
