import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import { cachedBundle, type Bundle, type BundleSource } from './cached-bundle.ts';
import { packagePath, PACKAGE_ROOT } from '../process/package-root.ts';

/** The name stack frames of the bundled worker carry (its `//# sourceURL`). */
export const STAGING_WORKER_SCRIPT_NAME = 'netflow-staging-worker.bundle.cjs';

/**
 * Where the bundled script is cached, in order: beside the installed packages (what `npm ci`'s
 * prepare fills), else a folder of this user's in the OS temp dir, for installs whose
 * node_modules cannot be written.
 */
export const STAGING_WORKER_CACHE_DIRS = [path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'netflow-lake'), path.join(tmpdir(), `netflow-lake-${process.getuid?.() ?? 'user'}`)];

/**
 * Files the script depends on besides the modules esbuild reads: this module (the esbuild options,
 * the sourceURL), the tsconfig esbuild reads, and esbuild's own version.
 */
const BUNDLE_SETTINGS = [packagePath('lib', 'staging', 'staging-worker-script.ts'), path.join(PACKAGE_ROOT, 'tsconfig.json'), createRequire(import.meta.url).resolve('esbuild/package.json')];

/** Per worker module, its script once asked for in this process. */
const memo = new Map<string, Promise<string>>();

/**
 * The staging worker thread's code as one CommonJS script, for `new Worker(script, { eval: true })`:
 * bundled from `workerModule` (StagingSources.workerModule: lib/sources/staging-worker.ts, which
 * serves the registry's sources with lib/staging/staging-worker.ts), cached across processes (STAGING_WORKER_CACHE_DIRS)
 * until one of its ~120 inputs changes, and kept in memory for the process on first use.
 *
 * Why: a worker thread that loads the TypeScript through tsx's hooks (staging-worker.mjs) spends
 * ~0.3-0.4 s of a core and ~45 MiB starting, compiling every module of the graph on tsx's hooks
 * thread; the bundle starts in ~80-120 ms of a core and ~12 MiB (an empty worker thread takes
 * ~35 ms). Bundling costs ~0.25 s wall and ~0.3 s of a core (half in esbuild's process), which
 * every `netflow run` paid on staging's critical path; reading the cache costs a few ms.
 * Packages (zod) are bundled too: zod loaded from node_modules costs a worker more than parsing it
 * in the bundle, and a script evaluated in a worker resolves nothing relative to this folder.
 *
 * A failure to bundle (esbuild missing or broken, a module it cannot bundle, any warning: a
 * CommonJS bundle of a module that reads import.meta would run wrong) rejects; the pool then falls
 * back to tsx. A cache that cannot be read or written does not (cachedBundle).
 */
export function stagingWorkerScript(workerModule: string, logger?: Pick<Logger, 'debug'>): Promise<string> {
  let script = memo.get(workerModule);
  if (!script) {
    script = cachedWorkerScript(workerModule, { dirs: STAGING_WORKER_CACHE_DIRS, ...(logger ? { logger } : {}) }).then((cached) => cached.script);
    memo.set(workerModule, script);
  }
  return script;
}

/** `source` bundled (bundleWorkerScript), through the cache in `dirs`; not memoized. */
export function cachedWorkerScript(source: string, options: { dirs: string[]; logger?: Pick<Logger, 'debug'> }): Promise<{ script: string; from: BundleSource }> {
  return cachedBundle(`${source} node${process.versions.node}`, () => bundleWorkerScript(source), options);
}

/** One bundling at a time: each stops esbuild's service when done, which would fail another's call in flight. */
let bundling: Promise<unknown> = Promise.resolve();

/** Bundles `source` and its imports, packages included, into one CommonJS script (not memoized: tests bundle broken modules). */
export function bundleWorkerScript(source: string): Promise<Bundle> {
  const script = bundling.then(() => bundle(source));
  bundling = script.catch(() => undefined);
  return script;
}

async function bundle(source: string): Promise<Bundle> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [source],
      absWorkingDir: PACKAGE_ROOT,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node}`,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    if (result.warnings.length > 0) {
      const warnings = result.warnings.map((warning) => (warning.location ? `${warning.location.file}:${warning.location.line}: ${warning.text}` : warning.text));
      throw new Error(`bundling ${source} gave ${warnings.length} warning(s): ${warnings.join('; ')}`);
    }
    const [output] = result.outputFiles;
    if (!output) throw new Error(`bundling ${source} gave no output`);
    const inputs = Object.keys(result.metafile.inputs).map((input) => path.resolve(PACKAGE_ROOT, input));
    return { script: `${output.text}\n//# sourceURL=${STAGING_WORKER_SCRIPT_NAME}\n`, inputs: [...inputs, ...BUNDLE_SETTINGS] };
  } finally {
    // esbuild's service process (~40 MiB) would otherwise idle until this process exits; the next
    // call starts it again. stop() also ends the synchronous service tsx's require hook may have
    // started in this thread, which restarts the same way, and a synchronous call cannot be in
    // flight while this runs (tsx's ESM hooks have a thread and an esbuild of their own).
    await esbuild.stop();
  }
}

// `npm ci` runs this with the worker module (package.json "prepare") so that the first run after
// an install finds the cache; a failure must not fail the install, the first run bundles instead.
if (process.argv[1] === import.meta.filename) {
  try {
    const workerModule = process.argv[2];
    if (!workerModule) throw new Error('usage: staging-worker-script.ts <worker module>');
    await stagingWorkerScript(path.resolve(workerModule));
  } catch (error) {
    process.stderr.write(`netflow-lake: the staging worker script was not prebuilt (the first run will bundle it): ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
