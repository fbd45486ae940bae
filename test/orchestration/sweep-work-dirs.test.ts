import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepStaleWorkDirs } from '../../orchestration/sweep-work-dirs.ts';

const DAY = 24 * 3_600_000;

describe('sweeping the work folders of runs that did not end', () => {
  let workDir: string;
  beforeEach(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'netflow-sweep-'));
  });
  afterEach(() => rm(workDir, { recursive: true, force: true }));

  it('removes run folders untouched for the age given, keeps recent ones and other files', async () => {
    const now = new Date();
    for (const [name, ageMs] of [['killed-2-days-ago', 2 * DAY], ['running-now', 60_000], ['killed-25-hours-ago', 25 * 3_600_000]] as const) {
      const folder = path.join(workDir, 'runs', name);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, 'lines.txt'), 'x');
      const then = new Date(now.getTime() - ageMs);
      await utimes(folder, then, then);
    }
    await writeFile(path.join(workDir, 'runs', 'not-a-folder'), 'x');
    const removed = await sweepStaleWorkDirs(workDir, DAY, now);
    expect(removed.map((folder) => path.basename(folder)).sort()).toEqual(['killed-2-days-ago', 'killed-25-hours-ago']);
    expect((await readdir(path.join(workDir, 'runs'))).sort()).toEqual(['not-a-folder', 'running-now']);
  });

  it('does nothing when there is no runs folder yet', async () => {
    expect(await sweepStaleWorkDirs(path.join(workDir, 'absent'), DAY)).toEqual([]);
  });
});
