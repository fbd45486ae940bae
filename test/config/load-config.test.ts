import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.ts';
import { ValidationError } from '../../lib/config/yaml-file.ts';

describe('configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const problems = async (yaml: string, env: NodeJS.ProcessEnv = {}) => {
    const file = path.join(dir, 'netflow.config.yaml');
    await writeFile(file, yaml);
    try {
      await loadConfig({ file, env });
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).problems;
    }
    throw new Error('expected a validation error');
  };

  it('works with no file at all: the embedded defaults', async () => {
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBeUndefined();
    expect(config.store).toEqual({ type: 'local', path: './lake' });
    expect(config.ledger.path).toBe('./.netflow/ledger.ndjson');
    expect(config.lateness).toBe('15m');
  });

  it.each([
    ['an unknown key, with its line', 'store:\n  type: local\n  pth: ./x\n', ['line 1: store: Unrecognized key: "pth": pth']],
    ['a wrong type', 'lateness: 15\n', ['line 1: lateness: Invalid input: expected string, received number']],
    ['a bad duration', 'lateness: soon\n', ['line 1: lateness: expected a duration such as "500ms", "30s", "15m", "2h" or "7d"']],
    ['an s3 store without a bucket', 'store:\n  type: s3\n  region: eu-west-1\n', ['line 1: store.bucket: Invalid input: expected string, received undefined']],
    [
      'every problem at once',
      'duckdb:\n  memory_limit: lots\nsources:\n  aws_vpc:\n    enabled: maybe\n    prefix: raw/\n',
      ['line 2: duckdb.memory_limit: expected a size such as "2GB"', 'line 5: sources.aws_vpc.enabled: Invalid input: expected boolean, received string'],
    ],
    ['YAML syntax', 'store: [\n', [expect.stringMatching(/^line \d+, column \d+: /)]],
  ])('names the key path and what was expected: %s', async (_case, yaml, expected) => {
    expect(await problems(yaml)).toEqual(expected);
  });

  it('applies NETFLOW_* environment overrides and validates them too', async () => {
    const file = path.join(dir, 'netflow.config.yaml');
    await writeFile(file, 'lateness: 15m\n');
    const { config } = await loadConfig({ file, env: { NETFLOW_LATENESS: '30m', NETFLOW_STORE__TYPE: 's3', NETFLOW_STORE__BUCKET: 'flows-bucket', NETFLOW_STORE__FORCE_PATH_STYLE: 'true' } });
    expect(config.lateness).toBe('30m');
    expect(config.store).toMatchObject({ type: 's3', bucket: 'flows-bucket', force_path_style: true });
    expect(await problems('lateness: 15m\n', { NETFLOW_DUCKDB__THREADS: 'many' })).toEqual(['duckdb.threads: Invalid input: expected number, received string']);
    expect(await problems('lateness: 15m\n', { NETFLOW_LATNESS: '30m' })).toEqual(['(top level): Unrecognized key: "latness": latness']);
  });

  it("leaves the test suites' NETFLOW_ switches out of the configuration", async () => {
    const env = { NETFLOW_REQUIRE_SYSTEM_TESTS: '1', NETFLOW_TEST_SEED: '7', NETFLOW_RELIABILITY_FULL: '1', NETFLOW_CHROMIUM: '/usr/bin/chromium' };
    const file = path.join(dir, 'netflow.config.yaml');
    await writeFile(file, 'lateness: 15m\n');
    expect((await loadConfig({ file, env })).config.lateness).toBe('15m');
  });

  it('refuses a named file that does not exist', async () => {
    await expect(loadConfig({ file: path.join(dir, 'missing.yaml'), env: {} })).rejects.toThrow(/missing\.yaml[\s\S]*cannot read the configuration file/);
  });
});
