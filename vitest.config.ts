import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    env: { TZ: 'UTC' },
    pool: 'forks',
    // vitest's default is one worker less than the cores: on this 2-core machine the suite ran one
    // file at a time, while most files wait on child processes, servers and throttled replays.
    maxWorkers: '100%',
    // The last lines of a run name every tool whose tests were skipped because it is missing.
    reporters: ['default', './test/support/missing-tools-reporter.ts'],
  },
});
