import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../support/lake-fixture.ts';

const CHILD = path.join(REPO_ROOT, 'test', 'orchestration', 'support', 'run-hour-child.ts');

export interface RunnerChild {
  process: ChildProcess;
  /** Resolves once the child has loaded everything and waits for `go()`. */
  ready: Promise<void>;
  /** Starts the run; with a kill point, the child SIGKILLs itself at that object store operation (or the first upload of a key matching killAtKey). */
  go(killAt?: { killAtOp: number; when: 'before' | 'after' } | { killAtKey: string; when: 'before' | 'after' }): void;
  /** Resolves with the exit code (or signal) and the child's JSON result line, if it printed one. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; result: { status: string; attemptId: string; runId: string; error: string | null; ops: number } | undefined; stderr: string }>;
}

/** Starts run-hour-child.ts in its own Node process (through tsx, as bin/netflow.mjs does). */
export function startRunner(configFile: string, hour: string, env: NodeJS.ProcessEnv = process.env): RunnerChild {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile, hour], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => {});
  const exited = new Promise<Awaited<RunnerChild['exited']>>((resolve) => {
    child.once('exit', (code, signal) => {
      markReady();
      const line = stdout.split('\n').find((text) => text.startsWith('{'));
      resolve({ code, signal, result: line ? JSON.parse(line) : undefined, stderr });
    });
  });
  return { process: child, ready, go: (killAt) => child.stdin.write(killAt ? `go ${JSON.stringify(killAt)}\n` : 'go\n'), exited };
}
