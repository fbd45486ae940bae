import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { COMMANDS } from '../../cli/commands/index.ts';
import { EXIT } from '../../cli/exit-codes.ts';
import { holdLock } from '../support/hold-lock.ts';
import { SAMPLE_REFERENCE } from '../support/lake-fixture.ts';

/** Arguments of one case, or why the command has no such case. */
type Case = string[] | { none: string };

interface CommandCases {
  /** Work done (or nothing to do): exit 0; also run with --quiet and --verbose. */
  done: string[];
  /** Skipped because already published from the same inputs: exit 0, and `says` where the user sees it. */
  skipped: { args: string[]; says: RegExp; lockExpiresInMs?: number } | { none: string };
  failed: Case;
  usage: string[];
  /** Under a partition lock held by a live runner past locks.wait (the short-wait configuration): exit 3. */
  locked: Case;
}

const NO_LOCK = { none: 'takes no partition lock: it reads published snapshots (Delta logs) and the ledger only' };
const NOTHING_TO_SKIP = { none: 'publishes nothing, so nothing is skipped' };
const HOURS = ['--from', '2024-05-01T13', '--to', '2024-05-01T14'];
const DAY = ['--from', '2024-05-01', '--to', '2024-05-01'];

/**
 * Every command of the registry, one row each (a command without a row fails the test: add one).
 * The lake is the demo's; `corrupt.yaml` points at a store whose Delta logs are not JSON,
 * `broken.yaml` at a store folder that is a file, `short-wait.yaml` waits 1 s for a lock.
 */
const MATRIX: Record<string, CommandCases> = {
  run: {
    done: ['run', '--hour', '2024-05-01T13'],
    skipped: { args: ['run', '--hour', '2024-05-01T13'], lockExpiresInMs: 1_500, says: /^netflow run: hour 2024-05-01T13 skipped: another runner already published it from the same inputs$/m },
    failed: ['run', '--hour', '2024-05-01T15', '--config', 'broken.yaml'],
    usage: ['run'],
    locked: ['run', '--hour', '2024-05-01T13', '--config', 'short-wait.yaml'],
  },
  demo: {
    done: ['demo'],
    skipped: { none: "its hours skip as `run`'s do (the same runHourWithProgress); the run row covers it" },
    failed: ['demo', '--config', 'broken.yaml'],
    usage: ['demo', 'extra'],
    locked: ['demo', '--config', 'short-wait.yaml'],
  },
  query: { done: ['query', 'SELECT count(*) FROM flows'], skipped: NOTHING_TO_SKIP, failed: ['query', 'SELECT * FROM no_such_table'], usage: ['query'], locked: NO_LOCK },
  history: { done: ['history', 'flows'], skipped: NOTHING_TO_SKIP, failed: ['history', 'flows', '--config', 'corrupt.yaml'], usage: ['history', 'no_such_table'], locked: NO_LOCK },
  ddl: {
    done: ['ddl', '--engine', 'duckdb'],
    skipped: NOTHING_TO_SKIP,
    failed: { none: 'prints DDL generated from schemas/ and reads nothing that can fail' },
    usage: ['ddl', '--engine', 'oracle'],
    locked: { none: 'reads nothing from the lake' },
  },
  inspect: { done: ['inspect', 'SAMPLE_FILE'], skipped: NOTHING_TO_SKIP, failed: ['inspect', 'GARBAGE_FILE', '--source', 'aws-vpc'], usage: ['inspect'], locked: { none: 'reads one local file' } },
  runs: { done: ['runs'], skipped: NOTHING_TO_SKIP, failed: ['runs', '--config', 'folder-ledger.yaml'], usage: ['runs', '--status', 'bogus'], locked: NO_LOCK },
  status: {
    done: ['status', '--from', '2024-05-01T14', '--to', '2024-05-01T14'],
    skipped: NOTHING_TO_SKIP,
    failed: ['status', ...HOURS, '--config', 'corrupt.yaml'],
    usage: ['status'],
    locked: NO_LOCK,
  },
  backfill: {
    done: ['backfill', ...HOURS, '--force'],
    skipped: { args: ['backfill', ...HOURS], says: /^backfill .*: 0 published, 2 skipped \(unchanged\), 0 failed$/m },
    failed: ['backfill', '--from', '2024-05-01T15', '--to', '2024-05-01T16', '--config', 'broken.yaml'],
    usage: ['backfill', '--from', '2024-05-01T14', '--to', '2024-05-01T13'],
    locked: ['backfill', ...HOURS, '--force', '--config', 'short-wait.yaml'],
  },
  scheduler: {
    done: ['scheduler', '--config', 'no-catch-up.yaml'],
    skipped: { none: "runs until stopped; its hours skip as `run`'s do" },
    failed: { none: 'a failed job is logged and the scheduler goes on; it exits 0 on SIGTERM (test/orchestration/s3-end-to-end.test.ts)' },
    usage: ['scheduler', 'extra'],
    locked: { none: 'a held hour is logged and retried at the next tick, the scheduler goes on' },
  },
  ref: { done: ['ref', 'check'], skipped: NOTHING_TO_SKIP, failed: ['ref', 'check', '--config', 'bad-reference.yaml'], usage: ['ref'], locked: { none: 'reads reference files only' } },
  rules: { done: ['rules', 'check'], skipped: NOTHING_TO_SKIP, failed: ['rules', 'test', '--hour', '2024-05-01T13', '--config', 'corrupt.yaml'], usage: ['rules'], locked: NO_LOCK },
  analytics: {
    done: ['analytics', ...HOURS, '--force'],
    skipped: { args: ['analytics', ...HOURS], says: /^analytics .*: 2 hour\(s\): 0 published \(0 anomalies\), 2 current \(already published from the same inputs; --force rebuilds\)/m },
    failed: ['analytics', ...HOURS, '--config', 'corrupt.yaml'],
    usage: ['analytics'],
    locked: { none: 'publishes anomalies and capacity_hourly through optimistic Delta commits, without a partition lock' },
  },
  report: {
    done: ['report', 'verify'],
    skipped: NOTHING_TO_SKIP,
    failed: ['report', 'compliance', ...DAY, '--config', 'broken.yaml'],
    usage: ['report'],
    locked: { none: 'writes its own new folder under reports/; takes no partition lock' },
  },
  commit: {
    done: ['commit', '--hour', '2024-05-01T13', '--shards', '2'],
    skipped: { args: ['commit', '--hour', '2024-05-01T13', '--shards', '2'], says: /^netflow commit: hour 2024-05-01T13 already published from the same inputs; nothing to do$/m },
    // A commit refused for unfinished shards exits 5 (test/cli/exit-codes.test.ts); 1 is its own failure.
    failed: ['commit', '--hour', '2024-05-01T13', '--shards', '2', '--config', 'corrupt.yaml'],
    usage: ['commit', '--hour', '2024-05-01T13'],
    // The hour's shard is run in a lake of its own (shard-lake.yaml), where the hour is not published yet.
    locked: ['commit', '--hour', '2024-05-01T13', '--shards', '1', '--config', 'shard-lake.yaml'],
  },
  plan: {
    done: ['plan', ...HOURS, '--workers', '2'],
    skipped: NOTHING_TO_SKIP,
    failed: ['plan', ...HOURS, '--workers', '2', '--config', 'folder-ledger.yaml'],
    usage: ['plan', ...HOURS],
    locked: { none: 'lists the hours’ raw objects and reads the ledger; it takes no lock' },
  },
  recommend: { done: ['recommend', ...DAY], skipped: NOTHING_TO_SKIP, failed: ['recommend', ...DAY, '--config', 'corrupt.yaml'], usage: ['recommend'], locked: NO_LOCK },
  config: {
    done: ['config', '--check'],
    skipped: NOTHING_TO_SKIP,
    failed: { none: 'an invalid configuration is bad usage (2), the only way it fails' },
    usage: ['config', '--config', 'missing.yaml'],
    locked: { none: 'reads the configuration only' },
  },
  migrate: {
    done: ['migrate'],
    skipped: NOTHING_TO_SKIP,
    failed: ['migrate', '--config', 'corrupt.yaml'],
    usage: ['migrate', 'extra'],
    locked: { none: 'converts manifests once, before any runner uses the lake' },
  },
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** The levels of the JSON log lines on stderr (off a terminal every log line is JSON). */
  levels: string[];
}

/**
 * Every command's exit code for done, skipped, failed, bad usage and a held lock, and its logs with
 * --quiet (warnings and errors only) and --verbose (debug lines too). In this process through
 * main() on a real lake and real DuckDB: a spawn per case would cost seconds of module loading.
 */
describe('every command: exit codes, --quiet and --verbose', { timeout: 600_000 }, () => {
  let cwd: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-matrix-'));
    const reference = `reference: { inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}, ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')} }`;
    const lake = [
      'store: { type: local, path: lake }',
      'work_dir: work',
      "duckdb: { memory_limit: '1GB', max_temp_directory_size: '2GB', threads: 2 }",
      reference,
      `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
    ];
    await write('netflow.config.yaml', [...lake, 'ledger: { path: ledger.ndjson }', 'locks: { lease: 2m, wait: 30m }']);
    await write('short-wait.yaml', [...lake, 'ledger: { path: ledger.ndjson }', 'locks: { lease: 2m, wait: 1s }']);
    await write('no-catch-up.yaml', [...lake, 'ledger: { path: ledger.ndjson }', 'scheduler: { catch_up: 0h }']);
    await write('folder-ledger.yaml', [...lake, 'ledger: { path: lake }']);
    const shardLake = lake.map((line) => line.replace('path: lake', 'path: shard-lake'));
    await write('shard-lake.yaml', [...shardLake, 'ledger: { path: shard-ledger.ndjson }', 'locks: { lease: 2m, wait: 1s }']);
    await write('not-a-folder', []);
    await write('broken.yaml', ['store: { type: local, path: not-a-folder }', 'ledger: { path: ledger.ndjson }', 'work_dir: work']);
    await write('corrupt.yaml', ['store: { type: local, path: corrupt }', 'ledger: { path: ledger.ndjson }', 'work_dir: work']);
    for (const table of ['flows', 'traffic_matrix']) await write(`corrupt/curated/${table}/_delta_log/00000000000000000000.json`, ['not json']);
    await write('corrupt/curated/flows/dt=2024-05-01/hour=13/_manifest.json', ['not json']);
    await write('bad-inventory.yaml', ['vms: [ {bad']);
    await write('bad-reference.yaml', ['reference: { inventory: bad-inventory.yaml }']);
    files.GARBAGE_FILE = path.join(cwd, 'garbage.log.gz');
    await writeFile(files.GARBAGE_FILE, gzipSync('garbage').subarray(0, 12));
    files.SAMPLE_FILE = path.join(SAMPLE_REFERENCE, '..', 'raw', 'agent', 'dt=2024-05-01', 'hour=14', 'vm=i-0app00000000001', 'i-0app00000000001-000000000007.ndjson.gz');
    const demo = await netflowHere(['demo']);
    expect(demo.code, demo.stderr).toBe(EXIT.ok);
    await cp(path.join(cwd, 'lake', 'raw'), path.join(cwd, 'shard-lake', 'raw'), { recursive: true });
    const shard = await netflowHere(['run', '--hour', '2024-05-01T13', '--shard', '0/1', '--config', 'shard-lake.yaml']);
    expect(shard.code, shard.stderr).toBe(EXIT.ok);
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  async function write(name: string, lines: string[]): Promise<void> {
    await mkdir(path.dirname(path.join(cwd, name)), { recursive: true });
    await writeFile(path.join(cwd, name), lines.map((line) => `${line}\n`).join(''));
  }

  async function netflowHere(args: string[]): Promise<Outcome> {
    let stdout = '';
    let stderr = '';
    const argv = args.map((arg) => files[arg] ?? arg);
    const code = await main(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd, env: { NETFLOW_CONFIG: '' } });
    const levels = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { level: string }).level);
    return { code, stdout, stderr, levels };
  }

  /** Each held lock's generation tops every generation a runner took before it (a runner takes the latest one + 1). */
  let lastGeneration = 0;

  /** A lock on hour 2024-05-01T13 held by another live runner for `expiresInMs` in the lake that `args` use; returns its release. */
  const holdLockOfHour = (expiresInMs: number, args: string[] = []) => holdLock(path.join(cwd, args.includes('shard-lake.yaml') ? 'shard-lake' : 'lake'), (lastGeneration += 1_000_000), expiresInMs);

  /** The scheduler runs until a signal: its own SIGTERM handler is called once it is installed, as `kill` would. */
  async function netflowUntilStopped(args: string[]): Promise<Outcome> {
    const before = new Set(process.listeners('SIGTERM'));
    const running = netflowHere(args);
    let handler: NodeJS.SignalsListener | undefined;
    let ended = false;
    void running.finally(() => (ended = true));
    while (!ended && !(handler = process.listeners('SIGTERM').find((listener) => !before.has(listener)))) await new Promise((resolve) => setTimeout(resolve, 50));
    handler?.('SIGTERM');
    return running;
  }

  const run = (name: string, args: string[]) => (name === 'scheduler' && !args.includes('extra') ? netflowUntilStopped(args) : netflowHere(args));

  it('has a row for every command of the registry', () => {
    expect(COMMANDS.map((command) => command.name).filter((name) => !MATRIX[name])).toEqual([]);
  });

  for (const command of COMMANDS) {
    const cases = MATRIX[command.name];
    if (!cases) continue;
    it(`${command.name}: 0 done (quiet: warnings and errors only; verbose: debug lines too), 2 bad usage`, async () => {
      const done = await run(command.name, cases.done);
      expect(done.code, `${command.name} done: ${done.stderr}`).toBe(EXIT.ok);
      expect(done.levels, command.name).not.toContain('debug');
      const quiet = await run(command.name, [...cases.done, '--quiet']);
      expect(quiet.code, quiet.stderr).toBe(EXIT.ok);
      expect(quiet.levels.filter((level) => level !== 'warn' && level !== 'error')).toEqual([]);
      const verbose = await run(command.name, [...cases.done, '--verbose']);
      expect(verbose.code, verbose.stderr).toBe(EXIT.ok);
      expect(verbose.levels).toContain('debug');

      const unknownOption = await netflowHere([command.name, '--no-such-option']);
      expect(unknownOption.code).toBe(EXIT.usage);
      expect(unknownOption.stderr).toContain('no-such-option');
      const usage = await netflowHere(cases.usage);
      expect(usage.code, `${cases.usage.join(' ')}: ${usage.stderr}`).toBe(EXIT.usage);
    });

    const skipped = cases.skipped;
    if ('args' in skipped) {
      it(`${command.name}: 0 when skipped, and says so`, async () => {
        const release = skipped.lockExpiresInMs ? await holdLockOfHour(skipped.lockExpiresInMs) : async () => {};
        try {
          const outcome = await netflowHere(skipped.args);
          expect(outcome.code, outcome.stderr).toBe(EXIT.ok);
          expect(`${outcome.stdout}${outcome.stderr}`).toMatch(skipped.says);
        } finally {
          await release();
        }
      });
    }
    const failed = cases.failed;
    if (Array.isArray(failed)) {
      it(`${command.name}: 1 when the work fails`, async () => {
        const outcome = await netflowHere(failed);
        expect(outcome.code, `${failed.join(' ')}: ${outcome.stdout}${outcome.stderr}`).toBe(EXIT.failed);
      });
    }
    const locked = cases.locked;
    if (Array.isArray(locked)) {
      it(`${command.name}: 3 when a live runner holds the lock`, async () => {
        const release = await holdLockOfHour(600_000, locked);
        try {
          const outcome = await netflowHere(locked);
          expect(outcome.code, `${locked.join(' ')}: ${outcome.stdout}${outcome.stderr}`).toBe(EXIT.locked);
          expect(outcome.stdout).toContain('is locked by another-runner');
        } finally {
          await release();
        }
      });
    }
  }
});
