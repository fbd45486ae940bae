import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const run = promisify(execFile);

/** Runs the guard fixture in a vitest of its own; returns its exit code and output. */
async function runFixture(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const vitest = path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', '--config', 'test/fixtures/require-tool/vitest.config.ts', '--color=false'];
  const { NETFLOW_REQUIRE_SYSTEM_TESTS: _ignored, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: REPO_ROOT, env: { ...inherited, ...env, FORCE_COLOR: '0' }, maxBuffer: 16 << 20 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

describe('tests that need a missing system tool', () => {
  it('are skipped, and the run ends with one line naming the tool and its install command', async () => {
    const { code, output } = await runFixture({});
    expect(code, output).toBe(0);
    expect(output).toMatch(/^skipped 2 tests in 1 file, missing netflow-no-such-tool \(not on PATH\); install: apt-get install -y netflow-no-such-tool$/m);
  });

  it('fail naming the tool under NETFLOW_REQUIRE_SYSTEM_TESTS=1', async () => {
    const { code, output } = await runFixture({ NETFLOW_REQUIRE_SYSTEM_TESTS: '1' });
    expect(code, output).toBe(1);
    expect(output).toContain('NETFLOW_REQUIRE_SYSTEM_TESTS=1 and missing: netflow-no-such-tool (not on PATH); install: apt-get install -y netflow-no-such-tool');
    expect(output).toMatch(/2 failed/);
  });
});
