import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCompiledEntry } from '../../bin/run-entry.mjs';
import { BUILD_INFO_FILE, buildDist } from '../../scripts/build-dist.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const run = promisify(execFile);

/** What the package holds besides dist/ and bin/: linked, so that the build in a temp folder runs against this checkout's sources, SQL and samples. */
const LINKED = ['package.json', 'tsconfig.json', 'node_modules', 'sql', 'data', 'schemas', 'lib', 'jobs', 'orchestration', 'cli', 'agent'];

/** The packages and relative chunks an output loads before its code runs (static imports, transitively). */
function staticImports(metafile: Metafile, output: string, seen = new Set<string>()): Set<string> {
  for (const imported of metafile.outputs[output]?.imports ?? []) {
    if (imported.kind !== 'import-statement' || seen.has(imported.path)) continue;
    seen.add(imported.path);
    if (!imported.external) staticImports(metafile, imported.path, seen);
  }
  return seen;
}

/**
 * The compiled CLI (scripts/build-dist.ts), built into a package folder of its own: bin/ picks it
 * while it is current, it runs the demo (SQL, samples and the staging worker found from dist/),
 * and `--help` loads no package. The other suites run the sources (NETFLOW_DEV=1, vitest.config.ts).
 */
describe('the compiled CLI in dist/', { timeout: 300_000 }, () => {
  let root: string;
  let metafile: Metafile;
  const compiledEnv = { ...process.env, NETFLOW_CONFIG: '', NETFLOW_DEV: '' };
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'netflow-dist-'));
    for (const name of LINKED) await symlink(path.join(REPO_ROOT, name), path.join(root, name));
    // Copied, not linked: Node resolves a linked script to its real folder, which would be this checkout's bin/.
    await mkdir(path.join(root, 'bin'));
    for (const name of ['netflow.mjs', 'netflow-agent.mjs', 'run-entry.mjs']) await copyFile(path.join(REPO_ROOT, 'bin', name), path.join(root, 'bin', name));
    ({ metafile } = await buildDist(path.join(root, 'dist')));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('bin/ runs dist/ while it is as new as its sources, and the sources when one is newer or dist/ is missing', async () => {
    expect(freshCompiledEntry(root, 'netflow')).toBe(path.join(root, 'dist', 'netflow.js'));
    expect(freshCompiledEntry(root, 'netflow-agent')).toBe(path.join(root, 'dist', 'netflow-agent.js'));
    expect(freshCompiledEntry(path.join(root, 'no-such-package'), 'netflow')).toBeUndefined();
    const stale = await mkdtemp(path.join(tmpdir(), 'netflow-stale-dist-'));
    try {
      await mkdir(path.join(stale, 'dist'));
      await symlink(path.join(REPO_ROOT, 'cli'), path.join(stale, 'cli'));
      await writeFile(path.join(stale, 'dist', 'netflow.js'), '');
      await writeFile(path.join(stale, 'dist', BUILD_INFO_FILE), JSON.stringify({ built_at_ms: 0, inputs: ['cli/main.ts'] }));
      expect(freshCompiledEntry(stale, 'netflow')).toBeUndefined();
      await writeFile(path.join(stale, 'dist', BUILD_INFO_FILE), JSON.stringify({ built_at_ms: Date.now() + 60_000, inputs: ['cli/main.ts'] }));
      expect(freshCompiledEntry(stale, 'netflow')).toBe(path.join(stale, 'dist', 'netflow.js'));
      await writeFile(path.join(stale, 'dist', BUILD_INFO_FILE), JSON.stringify({ built_at_ms: Date.now() + 60_000, inputs: ['cli/gone.ts'] }));
      expect(freshCompiledEntry(stale, 'netflow')).toBeUndefined();
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });

  it('`netflow --help` loads no package before it answers; each command is a chunk of its own', () => {
    const loaded = [...staticImports(metafile, path.relative(REPO_ROOT, path.join(root, 'dist', 'netflow.js')))];
    expect(loaded.filter((imported) => !imported.startsWith('node:') && !imported.includes('/dist/chunks/'))).toEqual([]);
    const commandChunks = Object.keys(metafile.outputs).filter((output) => /\/chunks\/[a-z]+-command-[A-Z0-9]+\.js$/.test(output));
    expect(commandChunks.length).toBeGreaterThanOrEqual(15);
    expect(loaded.filter((imported) => commandChunks.includes(imported))).toEqual([]);
  });

  it('runs the demo and a query from dist/, finding SQL, samples and the staging worker from the package root', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'netflow-dist-demo-'));
    try {
      const netflow = (args: string[]) => run(process.execPath, [path.join(root, 'bin', 'netflow.mjs'), ...args], { cwd, env: compiledEnv, maxBuffer: 64 << 20 });
      expect((await netflow(['--help'])).stdout).toContain('Usage: netflow <command> [options]');
      const demo = await netflow(['demo']);
      expect(demo.stdout).toContain('hour 2024-05-01T14  PUBLISHED');
      expect(demo.stderr).not.toContain('start through tsx');
      expect((await netflow(['query', 'SELECT count(*) AS n FROM flows WHERE counts_in_totals'])).stdout).toMatch(/^n +\n─+\n\d+ *\n\(1 row\)/);
      const agent = await run(process.execPath, [path.join(root, 'bin', 'netflow-agent.mjs'), '--help'], { cwd, env: compiledEnv });
      expect(agent.stdout).toContain('netflow-agent');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
