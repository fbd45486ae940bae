import { defineConfig } from 'vitest/config';

/**
 * The unit project: parsers, compilers, SQL macros and schemas, each checked on small inputs in
 * this process (an in-memory DuckDB for the macros and one file's normalize models at most);
 * no servers, no child processes, no job runs. `npm run test:unit` is the edit-test loop.
 */
const UNIT = [
  'test/agent/{agent-config,capture-stream-parser,flow-aggregator,packet-decoder}.test.ts',
  'test/anomalies/analytics-config.test.ts',
  'test/capacity/capacity-trend.test.ts',
  'test/config/*.test.ts',
  'test/layers/*.test.ts',
  'test/lib/{json-record-splitter,discard-partial-files,duckdb-session,logger,parquet-writer,parquet-null-counts}.test.ts',
  'test/net/*.test.ts',
  'test/orchestration/partition-status.test.ts',
  'test/reference/*.test.ts',
  'test/scale-out/plan-hours.test.ts',
  'test/rules/{compile-rules,hostile-rule-values,rule-kinds}.test.ts',
  'test/scale-out/shard-assignment.test.ts',
  'test/sources/{aws-vpc,aws-vpc-line-typer,azure,azure-plain-tuples,bad-input,discovery,gcp-oci,late-objects,raw-schemas,source-contract}.test.ts',
];

/** Fault, crash and race suites, reduced here; `npm run reliability` runs their full counts. */
const RELIABILITY = ['test/reliability/*.test.ts'];

/** Independent Delta readers (delta-rs, Spark) as real processes: minutes of JVM and Python, so a project of their own (`npm run test:interop`). */
const INTEROP = ['test/interop/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // NETFLOW_DEV=1: every `netflow` a test spawns runs this checkout's sources, never a dist/ build (bin/run-entry.mjs); test/cli/compiled-cli.test.ts runs a build.
    env: { TZ: 'UTC', NETFLOW_DEV: '1' },
    pool: 'forks',
    // vitest's default is one worker less than the cores: on this 2-core machine the suite ran one
    // file at a time, while most files wait on child processes, servers and throttled replays.
    maxWorkers: '100%',
    // The last lines of a run name every tool whose tests were skipped because it is missing.
    reporters: ['default', './test/support/missing-tools-reporter.ts'],
    projects: [
      // Unit files share their workers' module cache (no isolation): loading DuckDB and zod once per worker, not once per file.
      { extends: true, test: { name: 'unit', include: UNIT, isolate: false } },
      { extends: true, test: { name: 'system', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...RELIABILITY, ...INTEROP] } },
      { extends: true, test: { name: 'reliability', include: RELIABILITY } },
      // One file at a time: each starts a JVM or Python reader that wants both cores (two Spark runs side by side took 351 s and 509 s).
      { extends: true, test: { name: 'interop', include: INTEROP, fileParallelism: false } },
    ],
  },
});
