/**
 * `npm run bench:cli`: how fast the command line answers a person (a benchmark, not a timed test).
 * The median wall time of BENCH_RUNS (default 10) spawns of `netflow --help` and of
 * `netflow query "SELECT count(*) FROM flows"` on the demo lake (made once in a temp folder),
 * printed as JSON beside the floor of `node -e 0`. Targets (issue 19): --help ≤ 150 ms, the query ≤ 1 s. It runs the compiled
 * CLI, as a user does; it stops if dist/ is missing or older than the sources.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { freshCompiledEntry } from '../bin/run-entry.mjs';
import { REPO_ROOT } from '../test/support/lake-fixture.ts';
import { NETFLOW_BIN } from '../test/support/run-netflow.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** The published way: dist/ (which `npm run bench:cli` builds first), never the sources through tsx. */
const COMPILED_ENV = { ...process.env, NETFLOW_CONFIG: '', NETFLOW_DEV: '' };

/** The median wall time of RUNS spawns of `node <nodeArgs>`. */
async function medianMs(cwd: string, nodeArgs: string[]): Promise<{ median_ms: number; min_ms: number; max_ms: number }> {
  const times: number[] = [];
  for (let index = 0; index < RUNS; index++) {
    const started = performance.now();
    await run(process.execPath, nodeArgs, { cwd, env: COMPILED_ENV });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const middle = times.length / 2;
  const median = times.length % 2 ? times[Math.floor(middle)]! : (times[middle - 1]! + times[middle]!) / 2;
  return { median_ms: Math.round(median), min_ms: Math.round(times[0]!), max_ms: Math.round(times.at(-1)!) };
}

if (!freshCompiledEntry(REPO_ROOT, 'netflow')) throw new Error('dist/ is missing or older than the sources: npm run build');
const cwd = await mkdtemp(path.join(tmpdir(), 'netflow-cli-bench-'));
try {
  await run(process.execPath, [NETFLOW_BIN, 'demo'], { cwd, env: COMPILED_ENV, maxBuffer: 64 << 20 });
  // Node starting and exiting, the floor under both: on a loaded machine it moves as much as they do.
  const node_floor = await medianMs(cwd, ['-e', '0']);
  const help = await medianMs(cwd, [NETFLOW_BIN, '--help']);
  const query = await medianMs(cwd, [NETFLOW_BIN, 'query', 'SELECT count(*) FROM flows']);
  console.log(JSON.stringify({ runs: RUNS, node_floor, help, query, targets_ms: { help: 150, query: 1000 } }, null, 2));
} finally {
  await rm(cwd, { recursive: true, force: true });
}
