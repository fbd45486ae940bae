/**
 * Starts a staging pool from the staging worker's script as a new process finds it: from the cache
 * folder given, or bundled and cached there. Stages one file in the worker thread and prints one
 * JSON line: where the script came from, its SHA-256 and the lines staged
 * (test/lib/staging-worker-cache.test.ts).
 *
 *   node --import tsx cached-worker-script-child.ts '<json: { cacheDir, rawPath, linesPath }>'
 */
import { createHash } from 'node:crypto';
import { DEFAULT_STAGE_LIMITS } from '../../../lib/staging/stage-lines.ts';
import { StagingPool } from '../../../lib/staging/staging-pool.ts';
import { cachedWorkerScript } from '../../../lib/staging/staging-worker-script.ts';
import type { BundleSource } from '../../../lib/staging/cached-bundle.ts';
import { STAGING_SOURCES } from '../../../lib/sources/staging-sources.ts';

const { cacheDir, rawPath, linesPath } = JSON.parse(process.argv[2]!) as { cacheDir: string; rawPath: string; linesPath: string };
let from: BundleSource | undefined;
let sha256: string | undefined;
const pool = new StagingPool({
  sources: STAGING_SOURCES,
  workers: 1,
  script: async () => {
    const cached = await cachedWorkerScript(STAGING_SOURCES.workerModule, { dirs: [cacheDir] });
    from = cached.from;
    sha256 = createHash('sha256').update(cached.script).digest('hex');
    return cached.script;
  },
});
try {
  const launch = await pool.start();
  const staged = await pool.stage({ sourceType: 'aws_vpc', staging: 'lines', formatHint: undefined, rawPath, linesPath, limits: DEFAULT_STAGE_LIMITS }, 'child.log');
  process.stdout.write(`${JSON.stringify({ launch, from, sha256, stagedLines: staged.stagedLines })}\n`);
} finally {
  await pool.close();
}
