/**
 * The plan of a range of event hours run as shards on W workers (`netflow plan`): how many shards
 * each hour needs for `scale_out.bytes_per_shard`, and the wall time to expect from a measured
 * throughput. Pure: the hours' bytes come from a listing and the throughput from the run ledger,
 * both read by the caller. Figures behind the defaults: docs/scale-out.md.
 */

/** One event hour's raw objects, as discovery lists them for its delivery window. */
export interface HourBytes {
  /** `YYYY-MM-DDTHH` (UTC). */
  hour: string;
  objects: number;
  bytes: number;
  /** The largest object: a shard is never smaller (objects are not split). */
  largestObjectBytes: number;
}

/** Bytes of raw input one worker processes per second, and where the figure comes from. */
export interface Throughput {
  bytesPerSecond: number;
  source: 'ledger' | 'default';
  /** The published runs it was measured on (0 for the default). */
  runs: number;
}

/**
 * The default when the ledger has no run large enough to measure: the bench's one 2-core machine
 * publishing ~110 k flows/s of AWS VPC Flow Logs v2 at ~26.5 gzip bytes a flow (docs/scale-out.md).
 */
export const DEFAULT_BYTES_PER_SECOND = 110_000 * 26.5;

/** A run smaller than this says more about start-up than about throughput: not measured. */
export const MIN_MEASURED_RUN_BYTES = 16 * 1024 * 1024;

/** A worker's fixed cost per shard (start, listing, DuckDB, staging upload): a demo hour of 24 kB took 3.5-5 s end to end. */
export const SHARD_OVERHEAD_SECONDS = 4;

/**
 * The commit's share of a single-machine run of the hour, measured (docs/scale-out.md, "Shards and
 * the commit"): 0.51-0.52 at 1 M flows. Issue 22 allows 10 %; the commit without parts computes
 * every flow's counted flags and writes the flows table, which grows with the hour.
 */
export const COMMIT_SHARE = 0.5;

/**
 * With M commit parts (docs/scale-out.md, "Commit parts"), measured: the parts together cost about
 * 0.6 of a single-machine run (a 100 k-flow part alone: 3.0 s of 9.9 s for 200 k flows; 1.2 at 1 M
 * with two parts at a time on a loaded machine), split M ways; the final commit 0.2-0.26.
 */
export const PARTS_SHARE = 0.6;
export const FINAL_COMMIT_SHARE = 0.25;

/** The subset of a ledger entry the throughput needs. */
export interface MeasuredRun {
  status: string;
  duration_ms: number;
  inputs: readonly { size: number }[];
}

/** Bytes per second over the most recent published runs of at least MIN_MEASURED_RUN_BYTES, else the default. */
export function throughputOfRuns(runs: readonly MeasuredRun[], recent = 20): Throughput {
  const measured = runs
    .filter((run) => run.status === 'published' && run.duration_ms > 0)
    .map((run) => ({ bytes: run.inputs.reduce((sum, input) => sum + input.size, 0), seconds: run.duration_ms / 1000 }))
    .filter((run) => run.bytes >= MIN_MEASURED_RUN_BYTES)
    .slice(-recent);
  if (measured.length === 0) return { bytesPerSecond: DEFAULT_BYTES_PER_SECOND, source: 'default', runs: 0 };
  const bytes = measured.reduce((sum, run) => sum + run.bytes, 0);
  const seconds = measured.reduce((sum, run) => sum + Math.max(run.seconds - SHARD_OVERHEAD_SECONDS, 0.001), 0);
  return { bytesPerSecond: bytes / seconds, source: 'ledger', runs: measured.length };
}

export interface HourPlan extends HourBytes {
  shards: number;
  /** The expected time of the hour's longest shard. */
  shardSeconds: number;
  /** The expected time of each commit part (0 without parts); they run side by side, as the shards. */
  partSeconds: number;
  commitSeconds: number;
  /** When the hour is published, from the plan's start. */
  doneAtSeconds: number;
}

export interface HoursPlan {
  hours: HourPlan[];
  workers: number;
  bytesPerShard: number;
  throughput: Throughput;
  totalShards: number;
  totalBytes: number;
  /** The most shards any hour needs: the N of a backfill Job that runs every hour with one N. */
  maxShards: number;
  /** From the first shard's start to the last hour's commit. */
  wallSeconds: number;
  /** The same hours on one worker, unsharded: what the workers buy. */
  singleWorkerSeconds: number;
}

/** Shards for an hour: enough that none exceeds bytesPerShard, at least 1, at most one per object. */
export function shardsForHour(hour: HourBytes, bytesPerShard: number): number {
  return Math.max(1, Math.min(hour.objects, Math.ceil(hour.bytes / bytesPerShard)));
}

const runSeconds = (bytes: number, throughput: Throughput) => SHARD_OVERHEAD_SECONDS + bytes / throughput.bytesPerSecond;

/**
 * Plans the hours: shards per hour, then the shards dispatched in index order (hour-major, as an
 * Indexed Job or a Batch array job hands them out) each to the worker free first; an hour's
 * commit starts when its last shard ends (with parts: its M parts then, side by side, then the
 * final commit) and runs beside the shards (its own pods or jobs).
 */
export function planHours(hours: readonly HourBytes[], options: { workers: number; bytesPerShard: number; throughput: Throughput; parts?: number }): HoursPlan {
  const parts = options.parts ?? 1;
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`parts must be a positive integer, got ${parts}`);
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new Error(`workers must be a positive integer, got ${options.workers}`);
  if (!(options.bytesPerShard > 0)) throw new Error(`bytes per shard must be positive, got ${options.bytesPerShard}`);
  const freeAt = new Array<number>(options.workers).fill(0);
  const planned = hours.map((hour): HourPlan => {
    const shards = shardsForHour(hour, options.bytesPerShard);
    // Shards are balanced by bytes; one object larger than the share sets the longest shard.
    const shardSeconds = runSeconds(Math.max(hour.bytes / shards, hour.largestObjectBytes), options.throughput);
    let lastShardEnd = 0;
    for (let shard = 0; shard < shards; shard++) {
      const worker = freeAt.indexOf(Math.min(...freeAt));
      freeAt[worker]! += shardSeconds;
      lastShardEnd = Math.max(lastShardEnd, freeAt[worker]!);
    }
    const hourSeconds = hour.bytes / options.throughput.bytesPerSecond;
    const partSeconds = parts > 1 ? SHARD_OVERHEAD_SECONDS + (PARTS_SHARE * hourSeconds) / parts : 0;
    const commitSeconds = SHARD_OVERHEAD_SECONDS + (parts > 1 ? FINAL_COMMIT_SHARE : COMMIT_SHARE) * hourSeconds;
    return { ...hour, shards, shardSeconds, partSeconds, commitSeconds, doneAtSeconds: lastShardEnd + partSeconds + commitSeconds };
  });
  return {
    hours: planned,
    workers: options.workers,
    bytesPerShard: options.bytesPerShard,
    throughput: options.throughput,
    totalShards: planned.reduce((sum, hour) => sum + hour.shards, 0),
    totalBytes: planned.reduce((sum, hour) => sum + hour.bytes, 0),
    maxShards: planned.reduce((most, hour) => Math.max(most, hour.shards), 0),
    wallSeconds: planned.reduce((latest, hour) => Math.max(latest, hour.doneAtSeconds), 0),
    singleWorkerSeconds: hours.reduce((sum, hour) => sum + runSeconds(hour.bytes, options.throughput), 0),
  };
}
