import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { holdLock } from '../support/hold-lock.ts';
import { SAMPLE_REFERENCE } from '../support/lake-fixture.ts';

/**
 * The exit codes along one operator's story (a run, a backfill and analytics with nothing to do,
 * a lock taken over, a lock held, a broken store) and what the summaries say meanwhile; every
 * command's row of exit codes is test/cli/command-matrix.test.ts. Through main() in this process
 * (a real lake, real DuckDB), because a spawn costs seconds of module loading;
 * test/cli/netflow-cli.test.ts covers the spawned executable.
 */
describe('exit codes', { timeout: 300_000 }, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-exit-'));
    await writeConfig('netflow.config.yaml', '30m');
    await writeConfig('short-wait.yaml', '1s');
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  async function writeConfig(name: string, wait: string): Promise<void> {
    const config = [
      'store: { type: local, path: lake }',
      'ledger: { path: ledger.ndjson }',
      'work_dir: work',
      "duckdb: { memory_limit: '1GB', max_temp_directory_size: '2GB', threads: 2 }",
      `reference: { inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}, ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')} }`,
      `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
      `locks: { lease: 2m, wait: ${wait} }`,
    ];
    await writeFile(path.join(cwd, name), `${config.join('\n')}\n`);
  }

  async function netflowHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd, env: { NETFLOW_CONFIG: '' } });
    return { code, stdout, stderr };
  }

  it('exits 2 on a bad shard or shard count, naming what is wrong', async () => {
    expect((await netflowHere(['run', '--hour', '2024-05-01T13', '--shard', '4/4'])).stderr).toContain('i must be below N');
    expect((await netflowHere(['run', '--hour', '2024-05-01T13', '--shard', '1-of-4'])).code).toBe(2);
    expect((await netflowHere(['commit', '--hour', '2024-05-01T13'])).code).toBe(2);
    expect((await netflowHere(['commit', '--hour', '2024-05-01T13', '--shards', '0'])).code).toBe(2);
  });

  it('exits 5 when a commit refuses because its shards have not all finished, naming them', async () => {
    const notReady = await netflowHere(['commit', '--hour', '2024-05-01T15', '--shards', '2']);
    expect(notReady.code, notReady.stderr).toBe(5);
    expect(notReady.stderr).toContain('no shard has run (no listing recorded under _shards/2024-05-01T15/)');
    const partNotReady = await netflowHere(['commit', '--hour', '2024-05-01T15', '--shards', '2', '--part', '0/2']);
    expect(partNotReady.code, partNotReady.stderr).toBe(5);
  });

  it('exits 0 when done, 0 with a word on stderr when skipped, 1 when failed, 3 when the lock is held', async () => {
    const demo = await netflowHere(['demo']);
    expect(demo.code, demo.stderr).toBe(0);

    const run = await netflowHere(['run', '--hour', '2024-05-01T13']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('PUBLISHED');

    // The backfill finds both hours published from the same inputs: nothing to do.
    const backfill = await netflowHere(['backfill', '--from', '2024-05-01T13', '--to', '2024-05-01T14']);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toContain('0 published, 2 skipped');

    // One summary line of counts, skips with their reason, then only the hours that need attention.
    const analytics = await netflowHere(['analytics', '--from', '2024-05-01T12', '--to', '2024-05-01T14']);
    expect(analytics.code, analytics.stderr).toBe(0);
    expect(analytics.stdout).toMatch(
      /^analytics 2024-05-01T12 \.\. 2024-05-01T14: 3 hour\(s\): 2 published \(\d+ anomalies\), 1 skipped \(no published flows\), 0 failed\nneeds attention:\n {2}2024-05-01T13 {2}cold start, no findings from: fan_out \(0\/24 h of history\)/,
    );
    expect(analytics.stdout).not.toContain('2024-05-01T12  ');
    const analyticsAgain = await netflowHere(['analytics', '--from', '2024-05-01T12', '--to', '2024-05-01T14']);
    expect(analyticsAgain.code).toBe(0);
    expect(analyticsAgain.stdout).toContain('0 published (0 anomalies), 2 current (already published from the same inputs; --force rebuilds), 1 skipped (no published flows), 0 failed\n');
    expect(analyticsAgain.stdout).not.toContain('needs attention');
    expect((await netflowHere(['query', 'SELECT count(*) AS n FROM flows'])).code).toBe(0);
    expect((await netflowHere(['runs'])).code).toBe(0);
    expect((await netflowHere(['status', '--from', '2024-05-01T13', '--to', '2024-05-01T14'])).code).toBe(0);

    // Another runner holds the hour and lets its lease run out: this runner waits, takes over, and
    // finds the partition already published from the same inputs.
    await holdLock(path.join(cwd, 'lake'), 1_000_000, 1_500);
    const skipped = await netflowHere(['run', '--hour', '2024-05-01T13']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('hour 2024-05-01T13 skipped: another runner already published it from the same inputs');

    // A live runner holds the hour past locks.wait.
    await holdLock(path.join(cwd, 'lake'), 2_000_000, 600_000);
    const locked = await netflowHere(['run', '--hour', '2024-05-01T13', '--config', 'short-wait.yaml']);
    expect(locked.code, locked.stdout).toBe(3);
    expect(locked.stdout).toContain('is locked by another-runner');
    const lockedBackfill = await netflowHere(['backfill', '--from', '2024-05-01T13', '--to', '2024-05-01T14', '--force', '--config', 'short-wait.yaml']);
    expect(lockedBackfill.code, lockedBackfill.stdout).toBe(3);
    expect(lockedBackfill.stdout).toContain('1 published, 0 skipped (unchanged), 1 failed');
    expect(lockedBackfill.stdout).toMatch(/needs attention:\n {2}2024-05-01T13 {2}failed: partition 2024-05-01T13 is locked by another-runner/);
    expect(lockedBackfill.stdout).not.toContain('2024-05-01T14  ');
    expect((await netflowHere(['demo', '--config', 'short-wait.yaml'])).code).toBe(3);

    expect((await netflowHere(['query', 'SELECT * FROM no_such_table'])).code).toBe(1);
    // The store's folder is a file: every hour fails, for a reason other than a lock.
    await writeFile(path.join(cwd, 'not-a-folder'), '');
    await writeFile(path.join(cwd, 'broken.yaml'), 'store: { type: local, path: not-a-folder }\nledger: { path: ledger.ndjson }\nwork_dir: work\n');
    expect((await netflowHere(['run', '--hour', '2024-05-01T15', '--config', 'broken.yaml'])).code).toBe(1);
    expect((await netflowHere(['backfill', '--from', '2024-05-01T15', '--to', '2024-05-01T16', '--config', 'broken.yaml'])).code).toBe(1);
  });
});
