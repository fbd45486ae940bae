import { describe, expect, it } from 'vitest';
import {
  COMMIT_SHARE,
  DEFAULT_BYTES_PER_SECOND,
  FINAL_COMMIT_SHARE,
  MIN_MEASURED_RUN_BYTES,
  PARTS_SHARE,
  planHours,
  SHARD_OVERHEAD_SECONDS,
  shardsForHour,
  throughputOfRuns,
  type HourBytes,
  type Throughput,
} from '../../lib/scale-out/plan-hours.ts';

const MB = 1e6;
const hour = (name: string, bytes: number, objects = 100, largestObjectBytes = bytes / objects): HourBytes => ({ hour: name, bytes, objects, largestObjectBytes });
/** 10 MB/s: round figures. */
const TEN_MB: Throughput = { bytesPerSecond: 10 * MB, source: 'ledger', runs: 3 };

describe('shards per hour', () => {
  it.each([
    { name: 'an empty hour still gets one shard (it publishes an empty partition)', hour: hour('2024-05-01T00', 0, 0), shards: 1 },
    { name: 'an hour below the shard size is one shard', hour: hour('2024-05-01T00', 100 * MB), shards: 1 },
    { name: 'exactly the shard size is one shard', hour: hour('2024-05-01T00', 128 * MB), shards: 1 },
    { name: 'one byte more is two', hour: hour('2024-05-01T00', 128 * MB + 1), shards: 2 },
    { name: 'ten times the size is ten', hour: hour('2024-05-01T00', 1280 * MB), shards: 10 },
    { name: 'never more shards than objects (objects are not split)', hour: hour('2024-05-01T00', 1280 * MB, 3), shards: 3 },
  ])('$name', ({ hour, shards }) => {
    expect(shardsForHour(hour, 128 * MB)).toBe(shards);
  });
});

describe('throughput from the run ledger', () => {
  const run = (bytes: number, seconds: number, status = 'published') => ({ status, duration_ms: seconds * 1000, inputs: [{ size: bytes / 2 }, { size: bytes / 2 }] });

  it('uses the default, and says so, when the ledger is empty', () => {
    expect(throughputOfRuns([])).toEqual({ bytesPerSecond: DEFAULT_BYTES_PER_SECOND, source: 'default', runs: 0 });
  });

  it('ignores runs too small to measure (start-up dominates), failed runs and skipped ones', () => {
    expect(throughputOfRuns([run(24_000, 3.5), run(400 * MB, 10, 'failed'), run(400 * MB, 10, 'skipped')]).source).toBe('default');
  });

  it('divides the bytes of the measured runs by their time less the fixed per-run overhead', () => {
    const runs = [run(MIN_MEASURED_RUN_BYTES, 1 + SHARD_OVERHEAD_SECONDS), run(24_000, 3), run(100 * MB, 10 + SHARD_OVERHEAD_SECONDS)];
    expect(throughputOfRuns(runs)).toEqual({ bytesPerSecond: (MIN_MEASURED_RUN_BYTES + 100 * MB) / 11, source: 'ledger', runs: 2 });
  });

  it('keeps only the most recent runs', () => {
    const runs = [run(100 * MB, 100 + SHARD_OVERHEAD_SECONDS), run(100 * MB, 10 + SHARD_OVERHEAD_SECONDS)];
    expect(throughputOfRuns(runs, 1)).toMatchObject({ bytesPerSecond: 10 * MB, runs: 1 });
  });
});

describe('the plan of hours × shards on W workers', () => {
  it('one hour of 4 shards on 4 workers: the shards run side by side, then the commit', () => {
    const plan = planHours([hour('2024-05-01T13', 400 * MB)], { workers: 4, bytesPerShard: 100 * MB, throughput: TEN_MB });
    const shardSeconds = SHARD_OVERHEAD_SECONDS + 10;
    const commitSeconds = SHARD_OVERHEAD_SECONDS + COMMIT_SHARE * 40;
    expect(plan.hours[0]).toMatchObject({ shards: 4, shardSeconds, commitSeconds, doneAtSeconds: shardSeconds + commitSeconds });
    expect(plan).toMatchObject({ totalShards: 4, maxShards: 4, totalBytes: 400 * MB, wallSeconds: shardSeconds + commitSeconds, singleWorkerSeconds: SHARD_OVERHEAD_SECONDS + 40 });
  });

  it('with 4 commit parts: the shards, then the parts side by side (the whole-hour work split 4 ways), then the final commit', () => {
    const plan = planHours([hour('2024-05-01T13', 400 * MB)], { workers: 4, bytesPerShard: 100 * MB, throughput: TEN_MB, parts: 4 });
    const shardSeconds = SHARD_OVERHEAD_SECONDS + 10;
    const partSeconds = SHARD_OVERHEAD_SECONDS + (PARTS_SHARE * 40) / 4;
    const commitSeconds = SHARD_OVERHEAD_SECONDS + FINAL_COMMIT_SHARE * 40;
    expect(plan.hours[0]).toMatchObject({ shardSeconds, partSeconds, commitSeconds, doneAtSeconds: shardSeconds + partSeconds + commitSeconds });
    expect(planHours([hour('2024-05-01T13', 400 * MB)], { workers: 4, bytesPerShard: 100 * MB, throughput: TEN_MB }).hours[0]!.partSeconds).toBe(0);
    expect(() => planHours([], { workers: 4, bytesPerShard: MB, throughput: TEN_MB, parts: 0 })).toThrow('parts must be a positive integer, got 0');
  });

  it('the same hour on 2 workers takes two rounds of shards', () => {
    const plan = planHours([hour('2024-05-01T13', 400 * MB)], { workers: 2, bytesPerShard: 100 * MB, throughput: TEN_MB });
    expect(plan.wallSeconds).toBe(2 * (SHARD_OVERHEAD_SECONDS + 10) + SHARD_OVERHEAD_SECONDS + COMMIT_SHARE * 40);
  });

  it('hours are dispatched hour-major to the first free worker: a backfill of 3 hours × 2 shards on 4 workers', () => {
    const hours = ['2024-05-01T00', '2024-05-01T01', '2024-05-01T02'].map((name) => hour(name, 200 * MB));
    const plan = planHours(hours, { workers: 4, bytesPerShard: 100 * MB, throughput: TEN_MB });
    const shard = SHARD_OVERHEAD_SECONDS + 10;
    const commit = SHARD_OVERHEAD_SECONDS + COMMIT_SHARE * 20;
    // Hours 0 and 1 take the four workers; hour 2's shards start when the first two free up.
    expect(plan.hours.map((planned) => planned.doneAtSeconds)).toEqual([shard + commit, shard + commit, 2 * shard + commit]);
    expect(plan.totalShards).toBe(6);
  });

  it('an object larger than its share sets the longest shard', () => {
    const plan = planHours([hour('2024-05-01T13', 300 * MB, 3, 200 * MB)], { workers: 3, bytesPerShard: 100 * MB, throughput: TEN_MB });
    expect(plan.hours[0]!.shardSeconds).toBe(SHARD_OVERHEAD_SECONDS + 20);
  });

  it('refuses zero workers and a non-positive shard size', () => {
    expect(() => planHours([], { workers: 0, bytesPerShard: MB, throughput: TEN_MB })).toThrow('workers must be a positive integer');
    expect(() => planHours([], { workers: 1, bytesPerShard: 0, throughput: TEN_MB })).toThrow('bytes per shard must be positive');
  });

  it("a day of 100 billion flows at the defaults (the cost model of docs/scale-out.md): 863 shards an hour; the shards of the day fit in a day on 13 two-core workers, not on 11; commit parts shorten the last hour's tail", () => {
    // 100 B flows a day at 26.5 gzip bytes a flow, spread evenly: ~110 GB an hour.
    const bytesPerHour = (100e9 / 24) * 26.5;
    const hours = Array.from({ length: 24 }, (_, index) => hour(`2024-05-01T${String(index).padStart(2, '0')}`, bytesPerHour, 10_000));
    const throughput: Throughput = { bytesPerSecond: DEFAULT_BYTES_PER_SECOND, source: 'default', runs: 0 };
    const day = (workers: number, parts?: number) => planHours(hours, { workers, bytesPerShard: 128 * MB, throughput, ...(parts ? { parts } : {}) });
    const shardsDone = (plan: ReturnType<typeof day>) => Math.max(...plan.hours.map((planned) => planned.doneAtSeconds - planned.partSeconds - planned.commitSeconds));
    expect(day(13).hours[0]!.shards).toBe(863);
    expect(shardsDone(day(13))).toBeLessThan(86_400);
    expect(shardsDone(day(11))).toBeGreaterThan(86_400);
    // The commit of a 110 GB hour is a whole-hour job on one worker: about 5.3 h without parts, 2.7 h with 32.
    const tail = (plan: ReturnType<typeof day>) => plan.wallSeconds - shardsDone(plan);
    expect(tail(day(13)) / 3600).toBeCloseTo(5.3, 1);
    expect(tail(day(13, 32)) / 3600).toBeCloseTo(2.85, 1);
  });
});
