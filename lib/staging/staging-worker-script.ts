import path from 'node:path';

/** The staging worker thread's module; its imports are bundled with it. */
const STAGING_WORKER_SOURCE = path.join(import.meta.dirname, 'staging-worker.ts');

/** The name stack frames of the bundled worker carry (its `//# sourceURL`). */
export const STAGING_WORKER_SCRIPT_NAME = 'netflow-staging-worker.bundle.cjs';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

let memo: Promise<string> | undefined;

/**
 * The staging worker thread's code as one CommonJS script, for `new Worker(script, { eval: true })`:
 * bundled from lib/staging/staging-worker.ts once per process, on first use.
 *
 * Why: a worker thread that loads the TypeScript through tsx's hooks (staging-worker.mjs) spends
 * ~0.3-0.4 s of a core and ~45 MiB starting, compiling every module of the graph on tsx's hooks
 * thread; the bundle starts in ~80-120 ms of a core and ~12 MiB (an empty worker thread takes
 * ~35 ms). Bundling costs ~0.15-0.2 s of a core in esbuild's process and ~0.1-0.15 s wall, once,
 * while the calling thread stages.
 * Packages (zod) are bundled too: zod loaded from node_modules costs a worker more than parsing it
 * in the bundle, and a script evaluated in a worker resolves nothing relative to this folder.
 * Evaluated, not written to a file, so that nothing is left on disk whatever ends the process.
 *
 * A failure (esbuild missing or broken, a module it cannot bundle, any warning: a CommonJS bundle
 * of a module that reads import.meta would run wrong) rejects; the pool then falls back to tsx.
 */
export function stagingWorkerScript(): Promise<string> {
  memo ??= bundleWorkerScript(STAGING_WORKER_SOURCE);
  return memo;
}

/** One bundling at a time: each stops esbuild's service when done, which would fail another's call in flight. */
let bundling: Promise<unknown> = Promise.resolve();

/** Bundles `source` and its imports, packages included, into one CommonJS script (not memoized: tests bundle broken modules). */
export function bundleWorkerScript(source: string): Promise<string> {
  const script = bundling.then(() => bundle(source));
  bundling = script.catch(() => undefined);
  return script;
}

async function bundle(source: string): Promise<string> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [source],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node}`,
      write: false,
      logLevel: 'silent',
    });
    if (result.warnings.length > 0) {
      const warnings = result.warnings.map((warning) => (warning.location ? `${warning.location.file}:${warning.location.line}: ${warning.text}` : warning.text));
      throw new Error(`bundling ${source} gave ${warnings.length} warning(s): ${warnings.join('; ')}`);
    }
    const [output] = result.outputFiles;
    if (!output) throw new Error(`bundling ${source} gave no output`);
    return `${output.text}\n//# sourceURL=${STAGING_WORKER_SCRIPT_NAME}\n`;
  } finally {
    // esbuild's service process (~40 MiB) would otherwise idle until this process exits; the next
    // call starts it again. stop() also ends the synchronous service tsx's require hook may have
    // started in this thread, which restarts the same way, and a synchronous call cannot be in
    // flight while this runs (tsx's ESM hooks have a thread and an esbuild of their own).
    await esbuild.stop();
  }
}
