/**
 * Compiles the `netflow` and `netflow-agent` commands to JavaScript in dist/, so that a start
 * loads plain modules instead of transpiling TypeScript through tsx (issue 19: `--help` in
 * ≤ 150 ms). `npm ci` runs it through package.json "prepare"; `npm run build` runs it by hand.
 *
 * One ESM bundle per command with code splitting: every command module, which cli/commands/index.ts
 * imports lazily, stays a chunk of its own that loads only when its command runs. Packages stay in
 * node_modules (DuckDB is native; the AWS and Azure SDKs load only for their store). Files read
 * at run time (sql/, data/samples/, the staging worker's sources) are found from the package root
 * (lib/process/package-root.ts), so dist/ needs no copies of them.
 *
 * dist/build-info.json lists the sources the bundles were built from: bin/run-entry.mjs runs dist/
 * only while none of them is newer than the build, and the sources through tsx otherwise.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { PACKAGE_ROOT } from '../lib/process/package-root.ts';

/** The compiled entry points, by the name of their file in dist/ (without .js). */
export const DIST_ENTRIES = { netflow: 'cli/main.ts', 'netflow-agent': 'agent/cli.ts' } as const;

export const BUILD_INFO_FILE = 'build-info.json';

export interface BuildInfo {
  /** When the build started (ms since the epoch): a source modified after it makes dist/ stale. */
  built_at_ms: number;
  /** Every source file bundled, relative to the package root. */
  inputs: string[];
}

/** Builds dist/ (or `outDir`) from the package's sources; replaces what was there. Returns esbuild's metafile too (which output imports what). */
export async function buildDist(outDir: string = path.join(PACKAGE_ROOT, 'dist')): Promise<{ info: BuildInfo; metafile: esbuild.Metafile }> {
  // Rounded down: file systems with a coarse clock stamp a file saved during the build no later than this.
  const builtAtMs = Math.floor(Date.now() / 1000) * 1000;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: Object.fromEntries(Object.entries(DIST_ENTRIES).map(([name, source]) => [name, path.join(PACKAGE_ROOT, source)])),
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) {
    throw new Error(`building dist/ gave ${result.warnings.length} warning(s): ${result.warnings.map((warning) => warning.text).join('; ')}`);
  }
  const info: BuildInfo = { built_at_ms: builtAtMs, inputs: Object.keys(result.metafile.inputs).sort() };
  await writeFile(path.join(outDir, BUILD_INFO_FILE), `${JSON.stringify(info, null, 1)}\n`);
  return { info, metafile: result.metafile };
}

if (process.argv[1] === import.meta.filename) {
  const { info } = await buildDist(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  process.stderr.write(`netflow-lake: dist/ built from ${info.inputs.length} source files\n`);
}
