import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ownerIsDead } from '../lib/process/work-dir-owner.ts';

/**
 * Removes run folders under `<work_dir>/runs/` left by runs that were killed (SIGKILL, OOM, power
 * loss): a run removes its own folder when it ends. A folder whose owner (`owner.json`) ran on
 * this machine and is no longer alive goes at once, since it holds copies of raw data; any other
 * folder goes once nothing has written to it for `olderThanMs` (an owner on another machine
 * sharing the work folder, or a folder from before owner files). A live run writes to its folder
 * all along, and no run lasts a day. Returns the removed folders; a folder that cannot be read or
 * removed is left for next time.
 */
export async function sweepStaleWorkDirs(workDir: string, olderThanMs: number, now = new Date()): Promise<string[]> {
  const runs = path.join(workDir, 'runs');
  let names: string[];
  try {
    names = await readdir(runs);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const folder = path.join(runs, name);
    try {
      const stats = await stat(folder);
      if (!stats.isDirectory()) continue;
      if (now.getTime() - stats.mtimeMs < olderThanMs && !(await ownerIsDead(folder))) continue;
      await rm(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // Gone already, or not ours to remove: the next sweep looks again.
    }
  }
  return removed;
}
