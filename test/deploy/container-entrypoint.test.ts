import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SAMPLE_REFERENCE } from '../support/lake-fixture.ts';

/**
 * The container's entry point (deploy/container/entrypoint.mjs) as the image runs it: a process
 * with the orchestrator's environment. A recording stub stands in for netflow where the test is
 * about the index → hour and shard mapping; the last suite runs the real netflow.
 */
const ENTRYPOINT = path.join(REPO_ROOT, 'deploy', 'container', 'entrypoint.mjs');

/** Appends its argv and the NETFLOW_* variables it was given to $STUB_LOG; exits with the next code of $STUB_EXITS (comma-separated), the last one repeating. */
const STUB = `import { appendFileSync, readFileSync } from 'node:fs';
const log = process.env.STUB_LOG;
let calls = 0;
try { calls = readFileSync(log, 'utf8').split('\\n').filter(Boolean).length; } catch {}
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('NETFLOW_')));
appendFileSync(log, JSON.stringify({ argv: process.argv.slice(2), env }) + '\\n');
if (process.env.STUB_SIGNAL) process.kill(process.pid, process.env.STUB_SIGNAL);
if (process.env.STUB_AWAIT_SIGTERM) {
  process.on('SIGTERM', () => { appendFileSync(log + '.signals', 'SIGTERM\\n'); process.exit(0); });
  setTimeout(() => process.exit(9), 20000);
} else {
const codes = (process.env.STUB_EXITS ?? '0').split(',').map(Number);
process.exit(codes[Math.min(calls, codes.length - 1)]);
}
`;

interface Outcome {
  code: number | null;
  stderr: string;
  calls: { argv: string[]; env: Record<string, string> }[];
}

let dir: string;
let stub: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-entrypoint-'));
  stub = path.join(dir, 'netflow-stub.mjs');
  await writeFile(stub, STUB);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The environment of a pod or a Batch job: none of this process's NETFLOW_* variables, then `env`. */
function workerEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETFLOW_') && name !== 'JOB_COMPLETION_INDEX' && name !== 'AWS_BATCH_JOB_ARRAY_INDEX'));
  return { ...inherited, ...env };
}

function runEntrypoint(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRYPOINT, ...args], { env: workerEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

let runs = 0;
async function withStub(env: Record<string, string>, args: string[] = []): Promise<Outcome> {
  const log = path.join(dir, `calls-${++runs}.ndjson`);
  const { code, stderr } = await runEntrypoint({ NETFLOW_BIN: stub, STUB_LOG: log, ...env }, args);
  const text = await readFile(log, 'utf8').catch(() => '');
  return {
    code,
    stderr,
    calls: text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Outcome['calls'][number]),
  };
}

describe('container entry point: index → netflow arguments', () => {
  const cases: { name: string; env: Record<string, string>; argv: string[] }[] = [
    {
      name: 'a Kubernetes Indexed Job pod runs the shard of its completion index',
      env: { JOB_COMPLETION_INDEX: '2', NETFLOW_SHARDS: '4', NETFLOW_HOUR: '2024-05-01T13' },
      argv: ['run', '--hour', '2024-05-01T13', '--shard', '2/4'],
    },
    {
      name: 'an AWS Batch array child runs the shard of its array index',
      env: { AWS_BATCH_JOB_ARRAY_INDEX: '6', NETFLOW_SHARDS: '7', NETFLOW_HOUR: '2024-05-01T14' },
      argv: ['run', '--hour', '2024-05-01T14', '--shard', '6/7'],
    },
    {
      name: 'no index at all (a single job) is shard 0',
      env: { NETFLOW_SHARDS: '1', NETFLOW_HOUR: '2024-05-01T13' },
      argv: ['run', '--hour', '2024-05-01T13', '--shard', '0/1'],
    },
    {
      name: 'commit mode commits the hour over every shard',
      env: { NETFLOW_MODE: 'commit', NETFLOW_SHARDS: '4', NETFLOW_HOUR: '2024-05-01T13' },
      argv: ['commit', '--hour', '2024-05-01T13', '--shards', '4'],
    },
    {
      name: 'a backfill index is hour-major: index 5 of 2 hours × 4 shards is the second hour, shard 1',
      env: { JOB_COMPLETION_INDEX: '5', NETFLOW_SHARDS: '4', NETFLOW_BACKFILL_FROM: '2024-05-01T23', NETFLOW_BACKFILL_TO: '2024-05-02T00' },
      argv: ['run', '--hour', '2024-05-02T00', '--shard', '1/4'],
    },
    {
      name: 'a backfill commit index is the hour: index 1 commits the second hour',
      env: { NETFLOW_MODE: 'commit', AWS_BATCH_JOB_ARRAY_INDEX: '1', NETFLOW_SHARDS: '4', NETFLOW_BACKFILL_FROM: '2024-05-01T23', NETFLOW_BACKFILL_TO: '2024-05-02T00' },
      argv: ['commit', '--hour', '2024-05-02T00', '--shards', '4'],
    },
    {
      name: 'part mode runs the commit part of its completion index',
      env: { NETFLOW_MODE: 'part', JOB_COMPLETION_INDEX: '2', NETFLOW_SHARDS: '4', NETFLOW_PARTS: '3', NETFLOW_HOUR: '2024-05-01T13' },
      argv: ['commit', '--hour', '2024-05-01T13', '--shards', '4', '--part', '2/3'],
    },
    {
      name: 'commit mode with parts publishes from them',
      env: { NETFLOW_MODE: 'commit', NETFLOW_SHARDS: '4', NETFLOW_PARTS: '3', NETFLOW_HOUR: '2024-05-01T13' },
      argv: ['commit', '--hour', '2024-05-01T13', '--shards', '4', '--parts', '3'],
    },
    {
      name: 'a backfill part index is hour-major: index 4 of 2 hours × 3 parts is the second hour, part 1',
      env: { NETFLOW_MODE: 'part', AWS_BATCH_JOB_ARRAY_INDEX: '4', NETFLOW_SHARDS: '4', NETFLOW_PARTS: '3', NETFLOW_BACKFILL_FROM: '2024-05-01T23', NETFLOW_BACKFILL_TO: '2024-05-02T00' },
      argv: ['commit', '--hour', '2024-05-02T00', '--shards', '4', '--part', '1/3'],
    },
  ];
  it.each(cases)('$name', async ({ env, argv }) => {
    const outcome = await withStub(env);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.calls.map((call) => call.argv)).toEqual([argv]);
  });

  it('passes extra arguments on, and keeps its own variables from netflow (they are not configuration keys)', async () => {
    const outcome = await withStub({ JOB_COMPLETION_INDEX: '0', NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13', NETFLOW_CONFIG: '/etc/netflow/netflow.yaml', NETFLOW_STORE__BUCKET: 'flows' }, [
      '--log-format',
      'json',
    ]);
    expect(outcome.calls[0]!.argv).toEqual(['run', '--hour', '2024-05-01T13', '--shard', '0/2', '--log-format', 'json']);
    expect(outcome.calls[0]!.env).toEqual({ NETFLOW_CONFIG: '/etc/netflow/netflow.yaml', NETFLOW_STORE__BUCKET: 'flows' });
  });

  it('without NETFLOW_HOUR runs the last hour whose delivery window has closed (now − 1 h − lateness)', async () => {
    const before = Date.now();
    const outcome = await withStub({ JOB_COMPLETION_INDEX: '1', NETFLOW_SHARDS: '3', NETFLOW_LATENESS_MINUTES: '30' });
    const after = Date.now();
    const expected = [before, after].map((now) => new Date(Math.floor((now - 5_400_000) / 3_600_000) * 3_600_000).toISOString().slice(0, 13));
    expect(expected).toContain(outcome.calls[0]!.argv[2]);
    expect(outcome.calls[0]!.argv).toEqual(['run', '--hour', outcome.calls[0]!.argv[2], '--shard', '1/3']);
  });

  it.each([
    { name: 'lock held', exits: '3', code: 3 },
    { name: 'failed', exits: '1', code: 1 },
    { name: 'usage', exits: '2', code: 2 },
  ])("passes netflow's exit code through ($name)", async ({ exits, code }) => {
    const outcome = await withStub({ NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13', STUB_EXITS: exits });
    expect(outcome.code).toBe(code);
  });

  it('a netflow ended by a signal ends the worker with 128 + the signal number', async () => {
    const outcome = await withStub({ NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13', STUB_SIGNAL: 'SIGKILL' });
    expect(outcome.code).toBe(137);
  });

  it('forwards SIGTERM (a pod deleted, a Batch job terminated) to netflow, and exits as netflow does', async () => {
    const log = path.join(dir, 'sigterm.ndjson');
    const child = spawn(process.execPath, [ENTRYPOINT], {
      env: workerEnv({ NETFLOW_BIN: stub, STUB_LOG: log, STUB_AWAIT_SIGTERM: '1', NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13' }),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Once netflow has started (it logged its call), stop the worker as Kubernetes does.
    while (!(await readFile(log, 'utf8').catch(() => ''))) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await readFile(`${log}.signals`, 'utf8')).toBe('SIGTERM\n');
  });

  it('commit mode retries a commit refused for a missing shard until it succeeds, within NETFLOW_COMMIT_WAIT_MINUTES', async () => {
    const outcome = await withStub({
      NETFLOW_MODE: 'commit',
      NETFLOW_SHARDS: '2',
      NETFLOW_HOUR: '2024-05-01T13',
      NETFLOW_COMMIT_WAIT_MINUTES: '1',
      NETFLOW_COMMIT_RETRY_SECONDS: '0',
      STUB_EXITS: '5,3,0',
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.calls).toHaveLength(3);
    expect(outcome.stderr).toContain('commit exited 5; trying again');
  });

  it('commit mode does not retry a usage error, and without a wait tries once', async () => {
    const usage = await withStub({
      NETFLOW_MODE: 'commit',
      NETFLOW_SHARDS: '2',
      NETFLOW_HOUR: '2024-05-01T13',
      NETFLOW_COMMIT_WAIT_MINUTES: '1',
      NETFLOW_COMMIT_RETRY_SECONDS: '0',
      STUB_EXITS: '2,0',
    });
    expect([usage.code, usage.calls.length]).toEqual([2, 1]);
    // 1 is the commit's own failure, not a shard that has yet to finish: retrying would repeat it.
    const failed = await withStub({
      NETFLOW_MODE: 'commit',
      NETFLOW_SHARDS: '2',
      NETFLOW_HOUR: '2024-05-01T13',
      NETFLOW_COMMIT_WAIT_MINUTES: '1',
      NETFLOW_COMMIT_RETRY_SECONDS: '0',
      STUB_EXITS: '1,0',
    });
    expect([failed.code, failed.calls.length]).toEqual([1, 1]);
    const once = await withStub({ NETFLOW_MODE: 'commit', NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13', STUB_EXITS: '1,0' });
    expect([once.code, once.calls.length]).toEqual([1, 1]);
  });

  it.each<{ name: string; env: Record<string, string>; message: string }>([
    { name: 'an index past the shards', env: { JOB_COMPLETION_INDEX: '4', NETFLOW_SHARDS: '4', NETFLOW_HOUR: '2024-05-01T13' }, message: 'index 4 is not a shard of 4' },
    { name: 'no shard count', env: { NETFLOW_HOUR: '2024-05-01T13' }, message: 'NETFLOW_SHARDS is required' },
    { name: 'a bad hour', env: { NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T24' }, message: 'NETFLOW_HOUR must be a UTC hour' },
    { name: 'a bad mode', env: { NETFLOW_SHARDS: '2', NETFLOW_MODE: 'merge' }, message: 'NETFLOW_MODE must be shard, part or commit' },
    {
      name: 'an index past the parts',
      env: { NETFLOW_MODE: 'part', JOB_COMPLETION_INDEX: '3', NETFLOW_SHARDS: '4', NETFLOW_PARTS: '3', NETFLOW_HOUR: '2024-05-01T13' },
      message: 'index 3 is not a part of 3',
    },
    { name: 'part mode without parts', env: { NETFLOW_MODE: 'part', NETFLOW_SHARDS: '4', NETFLOW_HOUR: '2024-05-01T13' }, message: 'NETFLOW_MODE part needs NETFLOW_PARTS of at least 2' },
    {
      name: 'a commit wait that is not a number',
      env: { NETFLOW_SHARDS: '2', NETFLOW_MODE: 'commit', NETFLOW_COMMIT_WAIT_MINUTES: 'long' },
      message: 'NETFLOW_COMMIT_WAIT_MINUTES must be an integer',
    },
    {
      name: 'a backfill index past its last hour',
      env: { JOB_COMPLETION_INDEX: '8', NETFLOW_SHARDS: '4', NETFLOW_BACKFILL_FROM: '2024-05-01T13', NETFLOW_BACKFILL_TO: '2024-05-01T14' },
      message: 'index 8 is past the backfill',
    },
  ])('refuses $name with exit 2, naming it, and runs nothing', async ({ env, message }) => {
    const outcome = await withStub(env);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(message);
    expect(outcome.calls).toEqual([]);
  });
});

describe('container entry point with the real netflow over the demo hour', () => {
  it('each shard of an Indexed Job exits 0 and leaves outputs, then each commit part; the commit then publishes the hour from the parts', async () => {
    const lake = path.join(dir, 'demo');
    await cp(path.join(REPO_ROOT, 'data', 'samples', 'raw'), path.join(lake, 'lake', 'raw'), { recursive: true });
    const config = path.join(lake, 'netflow.yaml');
    await writeFile(
      config,
      [
        `store: { type: local, path: ${path.join(lake, 'lake')} }`,
        `ledger: { path: ${path.join(lake, 'ledger.ndjson')} }`,
        `work_dir: ${path.join(lake, 'work')}`,
        `duckdb: { memory_limit: 1GB, threads: 1 }`,
        `reference: { inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}, ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')} }`,
        `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
        '',
      ].join('\n'),
    );
    const env = { NETFLOW_CONFIG: config, NETFLOW_SHARDS: '2', NETFLOW_HOUR: '2024-05-01T13' };
    const before = new Set(await listTree(path.join(lake, 'lake')));
    for (const index of ['0', '1']) {
      const shard = await runEntrypoint({ ...env, JOB_COMPLETION_INDEX: index });
      expect(shard.code, shard.stderr).toBe(0);
    }
    const shardOutputs = (await listTree(path.join(lake, 'lake'))).filter((key) => !before.has(key));
    expect(shardOutputs.length, 'objects the shards wrote to the store').toBeGreaterThan(0);
    expect(
      shardOutputs.filter((key) => !key.startsWith('_shards/2024-05-01T13/')),
      'shards write only under their staging prefix',
    ).toEqual([]);
    expect(shardOutputs.filter((key) => key.endsWith('/done.json')).length, 'one done marker per shard').toBe(2);
    expect(
      shardOutputs.filter((key) => key.includes('/_delta_log/')),
      'a shard commits nothing',
    ).toEqual([]);
    for (const index of ['0', '1']) {
      const part = await runEntrypoint({ ...env, NETFLOW_MODE: 'part', NETFLOW_PARTS: '2', JOB_COMPLETION_INDEX: index });
      expect(part.code, part.stderr).toBe(0);
    }
    const partMarkers = (await listTree(path.join(lake, 'lake', '_shards', '2024-05-01T13'))).filter((key) => key.includes('/parts/') && key.endsWith('/done.json'));
    expect(partMarkers.length, 'one done marker per commit part').toBe(2);
    const commit = await runEntrypoint({ ...env, NETFLOW_MODE: 'commit', NETFLOW_PARTS: '2' });
    expect(commit.code, commit.stderr).toBe(0);
    expect(await listTree(path.join(lake, 'lake', 'curated', 'flows', '_delta_log'))).not.toEqual([]);
    expect(await listTree(path.join(lake, 'lake', '_shards', '2024-05-01T13')), 'the commit clears the shards').toEqual([]);
  });
});

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}
