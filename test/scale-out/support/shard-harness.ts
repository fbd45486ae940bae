import { spawn } from 'node:child_process';
import { cp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { readPublishedPartition } from '../../../lib/delta/published-partitions.ts';
import { partitionOf } from '../../../lib/publish/partition-keys.ts';
import { PUBLISHED_TABLES } from '../../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../../support/lake-fixture.ts';
import { NETFLOW_BIN } from '../../support/run-netflow.ts';

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A `netflow` process of this checkout; `killAfterMs` SIGKILLs it that long after it started. */
export function netflowProcess(cwd: string, args: string[], killAfterMs?: number): Promise<ProcessOutcome> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETFLOW_')));
  const child = spawn(process.execPath, [NETFLOW_BIN, ...args], { cwd, env: { ...inherited, NETFLOW_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/**
 * Rounds the modification time of every raw object of a lake down to the second: a copy keeps
 * whole seconds exactly (sub-millisecond times are lost on the way), and the local store's ETag is
 * the size and modification time.
 */
export async function roundRawMtimes(lake: LakeFixture): Promise<void> {
  const root = path.join(lake.dir, 'lake', 'raw');
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const seconds = Math.floor((await stat(file)).mtimeMs / 1000);
    await utimes(file, seconds, seconds);
  }
}

/** A lake holding another lake's raw objects with their modification times (the local store's ETags), so both lakes' runs of an hour have one run id. */
export async function lakeWithRawOf(source: LakeFixture, config: Record<string, unknown> = {}): Promise<LakeFixture & { configFile: string }> {
  const lake = await createLakeFixture({ config: { locks: { lease: '10m', wait: '1m' }, ...config } });
  await cp(path.join(source.dir, 'lake', 'raw'), path.join(lake.dir, 'lake', 'raw'), { recursive: true, preserveTimestamps: true });
  const configFile = path.join(lake.dir, 'config.json');
  await writeFile(configFile, JSON.stringify(lake.config));
  return { ...lake, configFile };
}

/** Runs the N shards of an hour as separate processes, `parallel` at a time; every one must exit 0. */
export async function runShards(lake: { dir: string; configFile: string }, hour: string, shards: number, parallel = 2): Promise<ProcessOutcome[]> {
  const outcomes: ProcessOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < shards) {
      const index = next++;
      outcomes[index] = await netflowProcess(lake.dir, ['run', '--hour', hour, '--shard', `${index}/${shards}`, '--config', lake.configFile, '--quiet']);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, shards) }, worker));
  return outcomes;
}

export function commitShards(lake: { dir: string; configFile: string }, hour: string, shards: number, parts?: number): Promise<ProcessOutcome> {
  return netflowProcess(lake.dir, ['commit', '--hour', hour, '--shards', String(shards), ...(parts ? ['--parts', String(parts)] : []), '--config', lake.configFile, '--quiet']);
}

/** Runs the M parts of an hour's commit as separate processes, one at a time (`netflow commit --part j/M`). */
export async function runCommitParts(lake: { dir: string; configFile: string }, hour: string, shards: number, parts: number): Promise<ProcessOutcome[]> {
  const outcomes: ProcessOutcome[] = [];
  for (let index = 0; index < parts; index++) {
    outcomes.push(await netflowProcess(lake.dir, ['commit', '--hour', hour, '--shards', String(shards), '--part', `${index}/${parts}`, '--config', lake.configFile, '--quiet']));
  }
  return outcomes;
}

/**
 * Per published table, a digest of the hour's rows as the Delta log resolves them: every column
 * of every row (the run id included) as text, sorted, hashed; with the row count.
 */
export async function partitionDigests(lake: LakeFixture, hour: string): Promise<Record<string, string>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const digests: Record<string, string> = {};
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    for (const table of PUBLISHED_TABLES) {
      const manifest = await readPublishedPartition(lake.store, table, partitionOf(new Date(`${hour}:00:00Z`)));
      if (!manifest) {
        digests[table.name] = 'unpublished';
        continue;
      }
      const files = manifest.files.map((file) => `'${path.join(lake.dir, 'lake', file.key).replaceAll("'", "''")}'`);
      const reader = await connection.runAndReadAll(
        // Each row's MD5, sorted, hashed: a million rows stay a 32 MB text instead of a gigabyte.
        `SELECT count(*)::VARCHAR || ' rows ' || coalesce(md5(string_agg(h, '' ORDER BY h)), '-') AS digest FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM read_parquet([${files.join(', ')}]) AS t)`,
      );
      digests[table.name] = String(reader.getRowObjects()[0]!['digest']);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return digests;
}
