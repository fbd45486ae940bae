import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimWorkDir, ownerIsDead, OWNER_FILE } from '../../lib/process/work-dir-owner.ts';
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
    for (const [name, ageMs] of [
      ['killed-2-days-ago', 2 * DAY],
      ['running-now', 60_000],
      ['killed-25-hours-ago', 25 * 3_600_000],
    ] as const) {
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

  it('removes at once the folder of a run on this machine whose process is dead; keeps live, foreign and unowned ones', async () => {
    const killed = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const owners: [string, object | undefined][] = [
        ['killed', { pid: killed.pid, host: hostname(), started_at: new Date().toISOString() }],
        ['live', { pid: live.pid, host: hostname(), started_at: new Date().toISOString() }],
        ['other-machine', { pid: killed.pid, host: `not-${hostname()}`, started_at: new Date().toISOString() }],
        ['no-owner-file', undefined],
      ];
      for (const [name, owner] of owners) {
        const folder = path.join(workDir, 'runs', name);
        await mkdir(folder, { recursive: true });
        await writeFile(path.join(folder, '0.bin'), 'raw copy');
        if (owner) await writeFile(path.join(folder, OWNER_FILE), JSON.stringify(owner));
      }
      killed.kill('SIGKILL');
      await once(killed, 'exit');
      const removed = await sweepStaleWorkDirs(workDir, DAY);
      expect(removed.map((folder) => path.basename(folder))).toEqual(['killed']);
      expect((await readdir(path.join(workDir, 'runs'))).sort()).toEqual(['live', 'no-owner-file', 'other-machine']);
    } finally {
      live.kill('SIGKILL');
      killed.kill('SIGKILL');
    }
  });

  it('a run claims its folder with its own pid and host', async () => {
    const folder = path.join(workDir, 'runs', 'mine');
    await mkdir(folder, { recursive: true });
    await claimWorkDir(folder);
    expect(JSON.parse(await readFile(path.join(folder, OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(await ownerIsDead(folder)).toBe(false);
  });

  it('does nothing when there is no runs folder yet', async () => {
    expect(await sweepStaleWorkDirs(path.join(workDir, 'absent'), DAY)).toEqual([]);
  });
});
