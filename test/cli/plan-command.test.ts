import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverObjects } from '../../jobs/hourly-etl.ts';
import { loadConfig } from '../../lib/config/load-config.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { DEFAULT_BYTES_PER_SECOND, SHARD_OVERHEAD_SECONDS, type HoursPlan } from '../../lib/scale-out/plan-hours.ts';
import { REPO_ROOT, SAMPLE_REFERENCE } from '../support/lake-fixture.ts';
import { netflow } from '../support/run-netflow.ts';

/** `netflow plan` over a lake holding the bundled samples, as a user runs it. */
let dir: string;
const HOURS = ['2024-05-01T12', '2024-05-01T13', '2024-05-01T14', '2024-05-01T15'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-plan-'));
  await cp(path.join(REPO_ROOT, 'data', 'samples', 'raw'), path.join(dir, 'lake', 'raw'), { recursive: true });
  const config = [
    'store: { type: local, path: ./lake }',
    `reference: { inventory: ${path.join(SAMPLE_REFERENCE, 'inventory.yaml')}, ip_ranges: ${path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml')} }`,
    `rules: ${path.join(SAMPLE_REFERENCE, 'rules.yaml')}`,
    'duckdb: { memory_limit: 1GB, threads: 1 }',
    // The samples are kilobytes: a shard size small enough to split them.
    'scale_out: { bytes_per_shard: 4KB }',
  ];
  await writeFile(path.join(dir, 'netflow.config.yaml'), `${config.join('\n')}\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const plan = async (args: string[] = []) => {
  const result = await netflow(dir, ['plan', '--from', HOURS[0]!, '--to', HOURS.at(-1)!, '--workers', '3', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
};

describe('netflow plan', () => {
  it("lists each hour's objects and bytes as the run's discovery finds them, with shards from scale_out.bytes_per_shard", async () => {
    const printed = JSON.parse(await plan(['--json'])) as HoursPlan;
    const { config } = await loadConfig({ cwd: dir, env: {} });
    const store = new LocalFolderStore(path.join(dir, 'lake'));
    for (const [index, hour] of HOURS.entries()) {
      const objects = await discoverObjects(store, config, new Date(`${hour}:00:00Z`));
      const bytes = objects.reduce((sum, object) => sum + object.size, 0);
      expect(printed.hours[index], hour).toMatchObject({ hour, objects: objects.length, bytes, shards: Math.max(1, Math.min(objects.length, Math.ceil(bytes / 4000))) });
    }
    expect(
      printed.hours.some((hour) => hour.shards > 1),
      'a sample hour split into shards',
    ).toBe(true);
    expect(printed).toMatchObject({ workers: 3, bytesPerShard: 4000, throughput: { source: 'default', bytesPerSecond: DEFAULT_BYTES_PER_SECOND, runs: 0 } });
    expect(printed.totalShards).toBe(printed.hours.reduce((sum, hour) => sum + hour.shards, 0));
  });

  it('prints a table and says where its throughput comes from', async () => {
    const text = await plan();
    for (const hour of HOURS) expect(text).toContain(hour);
    expect(text).toContain('the default (the ledger has no published run of 16 MiB or more)');
    expect(text).toMatch(/expected wall time: \d+ s \(one worker, unsharded: \d+ s\)/);
  });

  it("measures throughput on the ledger's published runs once one is large enough", async () => {
    const run = await netflow(dir, ['run', '--hour', '2024-05-01T13']);
    expect(run.code, run.stderr).toBe(0);
    const ledger = path.join(dir, '.netflow', 'ledger.ndjson');
    const entry = JSON.parse((await readFile(ledger, 'utf8')).trim().split('\n').at(-1)!);
    // The same run as if it had read 64 MiB in 20 s.
    entry.inputs = [{ ...entry.inputs[0], size: 64 * 1024 * 1024 }];
    entry.duration_ms = 20_000;
    await appendFile(ledger, `${JSON.stringify(entry)}\n`);
    const printed = JSON.parse(await plan(['--json'])) as HoursPlan;
    expect(printed.throughput).toEqual({ source: 'ledger', runs: 1, bytesPerSecond: (64 * 1024 * 1024) / (20 - SHARD_OVERHEAD_SECONDS) });
    expect(await plan()).toContain("measured on the ledger's 1 most recent published runs of 16 MiB or more");
  });

  it.each([
    { name: 'no --workers', args: ['plan', '--from', '2024-05-01T12', '--to', '2024-05-01T13'], says: 'plan needs --from, --to and --workers' },
    { name: 'zero workers', args: ['plan', '--from', '2024-05-01T12', '--to', '2024-05-01T13', '--workers', '0'], says: '--workers must be a whole number' },
    { name: '--to before --from', args: ['plan', '--from', '2024-05-01T13', '--to', '2024-05-01T12', '--workers', '2'], says: 'is before --from' },
    {
      name: 'a shard size that is not a size',
      args: ['plan', '--from', '2024-05-01T12', '--to', '2024-05-01T13', '--workers', '2'],
      env: { NETFLOW_SCALE_OUT__BYTES_PER_SHARD: 'lots' },
      says: 'scale_out.bytes_per_shard',
    },
  ])('exits 2 on $name', async ({ args, env, says }) => {
    const result = await netflow(dir, args, { ...process.env, ...env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(says);
  });
});
