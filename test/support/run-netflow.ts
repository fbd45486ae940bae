import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './lake-fixture.ts';

const run = promisify(execFile);

/** The real `netflow` executable of this checkout. */
export const NETFLOW_BIN = path.join(REPO_ROOT, 'bin', 'netflow.mjs');

/** Runs `netflow` in a folder, as a user would; resolves with its exit code and output, never rejects. */
export async function netflow(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // NETFLOW_* variables are configuration overrides for the CLI; the suites' own switches (NETFLOW_RELIABILITY_SEED, …) are not.
    const inherited = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('NETFLOW_RELIABILITY_')));
    const { stdout, stderr } = await run(process.execPath, [NETFLOW_BIN, ...args], { cwd, env: { ...inherited, NETFLOW_CONFIG: '' }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
