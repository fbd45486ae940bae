#!/usr/bin/env node
// The container's entry point: turns the index that Kubernetes Indexed Jobs or AWS Batch array
// jobs give each worker into `netflow run --hour H --shard i/N` (or `netflow commit`, or one of its
// parts: `netflow commit --part j/M`), and passes
// netflow's exit code through. Plain Node, no dependencies: it runs before anything is loaded.
//
// Environment (consumed here and not passed on: netflow reads NETFLOW_* variables as
// configuration overrides, and these are not configuration keys):
//   NETFLOW_MODE            shard (default), part (a commit part: index = part) or commit
//   NETFLOW_SHARDS          N, the shards of an hour (required)
//   NETFLOW_PARTS           M, the commit parts of an hour (default 1: the commit does their work itself)
//   NETFLOW_HOUR            YYYY-MM-DDTHH; unset: the last hour whose delivery window has closed
//                           (now - 1 h - NETFLOW_LATENESS_MINUTES, floored to the hour), for a CronJob
//   NETFLOW_LATENESS_MINUTES  default 15, the configuration's `lateness`
//   NETFLOW_BACKFILL_FROM, NETFLOW_BACKFILL_TO   a range of hours (both included) instead of one hour:
//                           shard mode maps index k to hour FROM + floor(k / N), shard k mod N;
//                           part mode maps index k to hour FROM + floor(k / M), part k mod M;
//                           commit mode maps index k to hour FROM + k
//   NETFLOW_COMMIT_WAIT_MINUTES   part and commit mode: retry a commit (or part) that exits 5 or 3 (a
//                           shard or part not finished yet, a lock held) until this many minutes have passed (default 0: once)
//   NETFLOW_COMMIT_RETRY_SECONDS  pause between those attempts (default 60)
//   NETFLOW_BIN             the netflow executable (default: bin/netflow.mjs beside this folder)
//   JOB_COMPLETION_INDEX (Kubernetes) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch): the index; none is index 0
// Any other argument is passed on to netflow (for example --log-format json).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const HOUR_MS = 3_600_000;
const USAGE = 2;
const OWN_VARIABLES = [
  'NETFLOW_MODE',
  'NETFLOW_SHARDS',
  'NETFLOW_PARTS',
  'NETFLOW_HOUR',
  'NETFLOW_LATENESS_MINUTES',
  'NETFLOW_BACKFILL_FROM',
  'NETFLOW_BACKFILL_TO',
  'NETFLOW_COMMIT_WAIT_MINUTES',
  'NETFLOW_COMMIT_RETRY_SECONDS',
  'NETFLOW_BIN',
];

class UsageError extends Error {}

function integerOf(env, name, fallback, min) {
  const text = env[name];
  if (text === undefined || text === '') {
    if (fallback === undefined) throw new UsageError(`${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${name} must be an integer of at least ${min}, got "${text}"`);
  return Number(text);
}

function hourOf(name, text) {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/.exec(text);
  const time = match ? Date.parse(`${match[1]}T${match[2]}:00:00Z`) : NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 13) !== text) throw new UsageError(`${name} must be a UTC hour such as 2024-05-01T13, got "${text}"`);
  return time;
}

const hourText = (time) => new Date(time).toISOString().slice(0, 13);

/** The worker's index: Kubernetes' completion index, else AWS Batch's array index, else 0 (a single job). */
function indexOf(env) {
  for (const name of ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX']) {
    if (env[name] !== undefined && env[name] !== '') return integerOf(env, name, undefined, 0);
  }
  return 0;
}

/** The netflow arguments this worker runs, from its environment and the current time. */
export function planOf(env, now) {
  const mode = env.NETFLOW_MODE || 'shard';
  if (mode !== 'shard' && mode !== 'part' && mode !== 'commit') throw new UsageError(`NETFLOW_MODE must be shard, part or commit, got "${mode}"`);
  const shards = integerOf(env, 'NETFLOW_SHARDS', undefined, 1);
  const parts = integerOf(env, 'NETFLOW_PARTS', 1, 1);
  if (mode === 'part' && parts < 2) throw new UsageError('NETFLOW_MODE part needs NETFLOW_PARTS of at least 2');
  // The workers per hour of this mode: an index of a backfill is hour × these + worker.
  const perHour = { shard: shards, part: parts, commit: 1 }[mode];
  const index = indexOf(env);
  let hour;
  let shard = index;
  if (env.NETFLOW_BACKFILL_FROM || env.NETFLOW_BACKFILL_TO) {
    if (env.NETFLOW_HOUR) throw new UsageError('give NETFLOW_HOUR or NETFLOW_BACKFILL_FROM/TO, not both');
    const from = hourOf('NETFLOW_BACKFILL_FROM', env.NETFLOW_BACKFILL_FROM ?? '');
    const to = hourOf('NETFLOW_BACKFILL_TO', env.NETFLOW_BACKFILL_TO ?? '');
    if (to < from) throw new UsageError(`NETFLOW_BACKFILL_TO (${env.NETFLOW_BACKFILL_TO}) is before NETFLOW_BACKFILL_FROM (${env.NETFLOW_BACKFILL_FROM})`);
    shard = index % perHour;
    hour = from + Math.floor(index / perHour) * HOUR_MS;
    if (hour > to)
      throw new UsageError(`index ${index} is past the backfill's last hour ${env.NETFLOW_BACKFILL_TO} (${(to - from) / HOUR_MS + 1} hours${mode === 'commit' ? '' : ` × ${perHour} ${mode}s`})`);
  } else if (env.NETFLOW_HOUR) {
    hour = hourOf('NETFLOW_HOUR', env.NETFLOW_HOUR);
  } else {
    const latenessMs = integerOf(env, 'NETFLOW_LATENESS_MINUTES', 15, 0) * 60_000;
    hour = Math.floor((now - HOUR_MS - latenessMs) / HOUR_MS) * HOUR_MS;
  }
  if (mode === 'commit' || mode === 'part') {
    const waitMs = integerOf(env, 'NETFLOW_COMMIT_WAIT_MINUTES', 0, 0) * 60_000;
    const pauseMs = integerOf(env, 'NETFLOW_COMMIT_RETRY_SECONDS', 60, 0) * 1000;
    const commit = ['commit', '--hour', hourText(hour), '--shards', String(shards)];
    if (mode === 'commit') return { mode, args: [...commit, ...(parts > 1 ? ['--parts', String(parts)] : [])], waitMs, pauseMs };
    if (shard >= parts) throw new UsageError(`index ${index} is not a part of ${parts} (0 to ${parts - 1}): completions or the array size must equal NETFLOW_PARTS`);
    return { mode, args: [...commit, '--part', `${shard}/${parts}`], waitMs, pauseMs };
  }
  if (shard >= shards) throw new UsageError(`index ${index} is not a shard of ${shards} (0 to ${shards - 1}): completions or the array size must equal NETFLOW_SHARDS`);
  return { mode, args: ['run', '--hour', hourText(hour), '--shard', `${shard}/${shards}`], waitMs: 0, pauseMs: 0 };
}

/** netflow's exit codes a commit or part retries on (cli/exit-codes.ts): 3 the lock is held, 5 shards or parts not all finished. */
const RETRIED_EXIT_CODES = [3, 5];

/** Runs netflow once; resolves with its exit code (128 + the signal's number when a signal ended it). */
function runNetflow(bin, args, env) {
  return new Promise((resolve) => {
    const command = bin.endsWith('.mjs') || bin.endsWith('.js') ? [process.execPath, [bin, ...args]] : [bin, args];
    const child = spawn(command[0], command[1], { stdio: 'inherit', env });
    // Kubernetes and Batch stop a worker with SIGTERM: netflow gets it and cleans up its attempt.
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    child.on('error', (error) => {
      process.stderr.write(`netflow entrypoint: cannot start ${bin}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

async function main() {
  let plan;
  try {
    plan = planOf(process.env, Date.now());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`netflow entrypoint: ${error.message}\n`);
    return USAGE;
  }
  const bin = process.env.NETFLOW_BIN || path.resolve(import.meta.dirname, '..', '..', 'bin', 'netflow.mjs');
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !OWN_VARIABLES.includes(name)));
  const args = [...plan.args, ...process.argv.slice(2)];
  const { waitMs, pauseMs } = plan;
  const deadline = Date.now() + waitMs;
  process.stderr.write(`netflow entrypoint: netflow ${args.join(' ')}\n`);
  for (;;) {
    const code = await runNetflow(bin, args, env);
    // 5: a shard or part has not finished (or failed: its retries may still fix it); 3: another commit holds the lock.
    // 1 is the commit's own failure: retrying would only repeat it.
    if (plan.mode === 'shard' || !RETRIED_EXIT_CODES.includes(code) || Date.now() + pauseMs > deadline) return code;
    process.stderr.write(`netflow entrypoint: commit exited ${code}; trying again in ${pauseMs / 1000} s (until ${new Date(deadline).toISOString()})\n`);
    await sleep(pauseMs);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) process.exitCode = await main();
