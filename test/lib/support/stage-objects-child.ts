/**
 * Stages the files of a folder with stageObjects in a process of its own and prints the outcome
 * as one JSON line, then ends without process.exit: the process exits only if staging left no
 * worker thread running (test/lib/staging-pool.test.ts).
 *
 *   node --import tsx stage-objects-child.ts '<json: { rawDir, workDir, sourceType, threads }>'
 *   node stage-objects-child.mjs '…'   (tsx registered by the script, as bin/netflow.mjs does)
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_STAGE_LIMITS } from '../../../lib/staging/stage-lines.ts';
import { stageObjects, type DiscoveredObject } from '../../../lib/staging/stage-objects.ts';
import { STAGING_SOURCES } from '../../../lib/sources/staging-sources.ts';

const { rawDir, workDir, sourceType, threads } = JSON.parse(process.argv[2]!) as { rawDir: string; workDir: string; sourceType: string; threads: number };
const objects: DiscoveredObject[] = (await readdir(rawDir)).sort().map((key) => ({ key, etag: '', size: 0, lastModified: new Date(0), sourceType, regionHint: null }));
const result = await stageObjects({
  sources: STAGING_SOURCES,
  store: {
    getToFile: async (key, localPath) => {
      await mkdir(path.dirname(localPath), { recursive: true });
      await copyFile(path.join(rawDir, key), localPath);
      return objects[0]!;
    },
  },
  objects,
  workDir,
  limits: DEFAULT_STAGE_LIMITS,
  threads,
});
process.stdout.write(`${JSON.stringify({ stagedLines: result.objects.map((o) => o.stagedLines), rejects: result.rejects.length })}\n`);
