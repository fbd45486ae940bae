import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

/**
 * Guards for tests that need something outside node_modules: a system tool (tcpdump, tshark,
 * Chromium), a privilege (root, network namespaces) or a Python reader (deltalake, pyspark).
 *
 * Where it is present the guarded tests run. Where it is missing they are skipped, and the run
 * ends with one line per missing tool naming it and its install command
 * (test/support/missing-tools-reporter.ts). With NETFLOW_REQUIRE_SYSTEM_TESTS=1, which .ci/run
 * sets after installing every tool, a missing tool fails the guarded tests instead, naming it.
 */
export interface MissingTool {
  /** What is missing, as a person looks for it: `tcpdump`, `Chromium`, `Python module deltalake`. */
  tool: string;
  /** The command (or step) that provides it, as .ci/run does it. */
  install: string;
  /** Why the probe said no: `not on PATH`, `not root`, the probe's error. */
  reason: string;
}

declare module 'vitest' {
  interface TaskMeta {
    missingTools?: MissingTool[];
  }
}

/** `true` when usable, or the reason it is not. */
export type ToolProbe = () => true | string;

type SuiteBody = () => void;
type TestBody = () => unknown;
interface GuardOptions {
  timeout?: number;
}

export interface ToolGuard {
  readonly available: boolean;
  readonly missing: readonly MissingTool[];
  /** `describe`, skipped or failing as a whole when a tool is missing. */
  describe(name: string, body: SuiteBody): void;
  describe(name: string, options: GuardOptions, body: SuiteBody): void;
  /** `it`, skipped or failing when a tool is missing. */
  it(name: string, body: TestBody, timeout?: number): void;
  it(name: string, options: GuardOptions, body: TestBody): void;
}

export const REQUIRE_SYSTEM_TESTS = process.env.NETFLOW_REQUIRE_SYSTEM_TESTS === '1';

/**
 * Guards tests on one tool. `probe` defaults to looking `tool` up on PATH.
 * Example: `const tcpdump = requireTool('tcpdump', 'apt-get install -y tcpdump'); tcpdump.describe(…)`.
 */
export function requireTool(tool: string, install: string, probe: ToolProbe = () => onPath(tool)): ToolGuard {
  let verdict: true | string;
  try {
    verdict = probe();
  } catch (error) {
    verdict = (error as Error).message;
  }
  return guard(verdict === true ? [] : [{ tool, install, reason: verdict }]);
}

/** Guards tests that need every one of these tools. */
export function requireTools(...guards: ToolGuard[]): ToolGuard {
  return guard(guards.flatMap((g) => g.missing));
}

function guard(missing: MissingTool[]): ToolGuard {
  const available = missing.length === 0;
  const failure = (): never => {
    throw new Error(`NETFLOW_REQUIRE_SYSTEM_TESTS=1 and missing: ${missing.map(describeMissing).join('; ')}`);
  };
  const failingTestName = `needs ${missing.map((m) => m.tool).join(' and ')}`;
  return {
    available,
    missing,
    describe(name: string, optionsOrBody: GuardOptions | SuiteBody, maybeBody?: SuiteBody): void {
      const [options, body] = typeof optionsOrBody === 'function' ? [{}, optionsOrBody] : [optionsOrBody, maybeBody!];
      if (available) describe(name, options, body);
      else if (REQUIRE_SYSTEM_TESTS) describe(name, options, () => it(failingTestName, failure));
      else describe(name, { ...options, skip: true, meta: { missingTools: missing } }, body);
    },
    it(name: string, optionsOrBody: GuardOptions | TestBody, bodyOrTimeout?: TestBody | number): void {
      // No `timeout: undefined`: it would override the timeout of the enclosing describe with the default.
      const [options, body]: [GuardOptions, TestBody] =
        typeof optionsOrBody === 'function' ? [typeof bodyOrTimeout === 'number' ? { timeout: bodyOrTimeout } : {}, optionsOrBody] : [optionsOrBody, bodyOrTimeout as TestBody];
      if (available) it(name, options, body);
      else if (REQUIRE_SYSTEM_TESTS) it(`${name} (${failingTestName})`, options, failure);
      else it(name, { ...options, skip: true, meta: { missingTools: missing } }, body);
    },
  };
}

export function describeMissing(m: MissingTool): string {
  return `${m.tool} (${m.reason}); install: ${m.install}`;
}

/** Whether an executable named `command` is on PATH (or at that path, if it has a slash). */
export function onPath(command: string): true | string {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      // not this one
    }
  }
  return command.includes('/') ? `no executable at ${command}` : 'not on PATH';
}

/** Whether this process runs as root (network namespaces, capture on any interface, setpriv). */
export function isRoot(): true | string {
  return process.getuid?.() === 0 ? true : 'not root';
}

/** Whether `python` can import `module` (a Python reader used as an independent check). */
export function pythonModule(module: string, python = 'python3'): ToolProbe {
  return () => {
    const result = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 60_000 });
    if (result.error) return `${python}: ${result.error.message}`;
    return result.status === 0 ? true : (result.stderr.trim().split('\n').at(-1) ?? `${python} exited ${result.status}`);
  };
}
