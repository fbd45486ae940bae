/**
 * The scale-out benchmark: `npm run bench -- --flows N --shards S [--parts M] [--parallel P] [--keep]`.
 *
 * Generates an hour of N flows from four sources (bench/scale-out-hour.ts), runs it as S shard
 * worker processes (`netflow run --hour H --shard i/S`, P at a time: 2 on a 2-core machine) and
 * the commit (`netflow commit --hour H --shards S`; with M > 1 parts, the M commit parts first,
 * `netflow commit --hour H --shards S --part j/M`, P at a time, then `--parts M`), then the same hour on one machine
 * (`netflow run --hour H`) in the same lake, and checks that both published the same run with
 * the same counts. The last line of output is one JSON object: per-shard and commit times, and
 * the commit's share of the single-machine run (what a shard count cannot parallelize); with
 * parts, each part's time and the final commit's share.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { generateScaleOutHour } from './scale-out-hour.ts';

const run = promisify(execFile);
const NETFLOW = path.resolve(import.meta.dirname, '..', 'bin', 'netflow.mjs');
const HOUR = '2024-05-01T13';

interface TimedRun {
  seconds: number;
  result: { status: string; runId: string; durationsMs: Record<string, number>; counts: Record<string, number>; bytes?: number; objects?: unknown[] };
}

export async function runScaleOutBench(values: { flows: number; shards: number; parts: number; parallel: number; memoryLimit: string; keep: boolean }): Promise<void> {
  const { flows, shards, parts, parallel } = values;
  const dir = await mkdtemp(path.join(tmpdir(), 'netflow-scale-out-bench-'));
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const configFile = path.join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      store: { type: 'local', path: path.join(dir, 'lake') },
      ledger: { path: path.join(dir, 'ledger.ndjson') },
      work_dir: path.join(dir, 'work'),
      duckdb: { memory_limit: values.memoryLimit },
    }),
  );
  const netflow = async (args: string[]): Promise<TimedRun> => {
    const started = performance.now();
    try {
      const { stdout } = await run(process.execPath, [NETFLOW, ...args, '--config', configFile, '--json', '--quiet'], { cwd: dir, maxBuffer: 256 << 20, env: { ...process.env, NETFLOW_CONFIG: '' } });
      return { seconds: (performance.now() - started) / 1000, result: JSON.parse(stdout) };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      throw new Error(`netflow ${args.join(' ')} failed: ${failed.stderr ?? ''}${failed.stdout?.slice(0, 2000) ?? ''}`, { cause: error });
    }
  };
  try {
    log(`generating ${flows} flows from four sources under ${dir}`);
    const generated = await generateScaleOutHour(path.join(dir, 'lake'), flows);

    log(`running ${shards} shards, ${parallel} at a time`);
    const shardsStarted = performance.now();
    const shardRuns = await inParallel(shards, parallel, async (index) => {
      const shard = await netflow(['run', '--hour', HOUR, '--shard', `${index}/${shards}`]);
      log(`shard ${index}/${shards}: ${shard.seconds.toFixed(2)} s, ${shard.result.bytes} bytes; phases ${JSON.stringify(shard.result.durationsMs)}`);
      return shard;
    });
    const shardsWall = (performance.now() - shardsStarted) / 1000;
    const partsStarted = performance.now();
    const partRuns =
      parts > 1
        ? await inParallel(parts, parallel, async (index) => {
            const part = await netflow(['commit', '--hour', HOUR, '--shards', String(shards), '--part', `${index}/${parts}`]);
            if (part.result.status !== 'staged') throw new Error(`commit part ${index}/${parts} did not stage: ${JSON.stringify(part.result).slice(0, 2000)}`);
            log(`commit part ${index}/${parts}: ${part.seconds.toFixed(2)} s; phases ${JSON.stringify(part.result.durationsMs)}`);
            return part;
          })
        : [];
    const partsWall = (performance.now() - partsStarted) / 1000;
    log('committing');
    const commit = await netflow(['commit', '--hour', HOUR, '--shards', String(shards), ...(parts > 1 ? ['--parts', String(parts)] : [])]);
    if (commit.result.status !== 'published') throw new Error(`the commit did not publish: ${JSON.stringify(commit.result).slice(0, 2000)}`);
    log(`commit: ${commit.seconds.toFixed(2)} s; phases ${JSON.stringify(commit.result.durationsMs)}`);

    log('running the same hour on one machine');
    const single = await netflow(['run', '--hour', HOUR]);
    if (single.result.status !== 'published') throw new Error(`the single-machine run did not publish: ${JSON.stringify(single.result).slice(0, 2000)}`);
    log(`single machine: ${single.seconds.toFixed(2)} s; phases ${JSON.stringify(single.result.durationsMs)}`);
    if (single.result.runId !== commit.result.runId || JSON.stringify(single.result.counts) !== JSON.stringify(commit.result.counts)) {
      throw new Error(
        `the commit and the single-machine run differ: run ${commit.result.runId} vs ${single.result.runId}, counts ${JSON.stringify(commit.result.counts)} vs ${JSON.stringify(single.result.counts)}`,
      );
    }
    const ledger = (await readFile(path.join(dir, 'ledger.ndjson'), 'utf8')).trim().split('\n');
    log(`ledger: ${ledger.length} entries, run ${single.result.runId} published twice with the same counts`);

    const round = (value: number) => Math.round(value * 100) / 100;
    console.log(
      JSON.stringify({
        flows,
        objects: generated.objects,
        shards,
        parallel,
        shard_seconds: shardRuns.map((shard) => round(shard.seconds)),
        shard_bytes: shardRuns.map((shard) => shard.result.bytes),
        shards_wall_seconds: round(shardsWall),
        parts,
        part_seconds: partRuns.map((part) => round(part.seconds)),
        parts_wall_seconds: round(partsWall),
        commit_seconds: round(commit.seconds),
        commit_phases_ms: commit.result.durationsMs,
        single_seconds: round(single.seconds),
        commit_share_of_single: round(commit.seconds / single.seconds),
        sharded_wall_seconds: round(shardsWall + partsWall + commit.seconds),
        single_flows_per_s: Math.round(flows / single.seconds),
        run_id: single.result.runId,
      }),
    );
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `count` jobs by index, `parallel` at a time; their results in index order. */
async function inParallel<T>(count: number, parallel: number, job: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await job(index);
      }
    }),
  );
  return results;
}
