import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { processExists } from './process-exists.ts';

/** The file naming the process that works in a run's work folder. */
export const OWNER_FILE = 'owner.json';

export interface WorkDirOwner {
  pid: number;
  host: string;
  started_at: string;
}

/** Records this process as the owner of a work folder it has just created. */
export async function claimWorkDir(dir: string, now = new Date()): Promise<void> {
  const owner: WorkDirOwner = { pid: process.pid, host: hostname(), started_at: now.toISOString() };
  await writeFile(path.join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
}

/**
 * Whether the folder's owner is known to be dead: it ran on this machine and no process has its
 * pid any more. Unknown (no owner file, another machine, an unreadable file) is not dead. A pid
 * reused by another process keeps the folder until the age rule removes it.
 */
export async function ownerIsDead(dir: string): Promise<boolean> {
  let owner: Partial<WorkDirOwner>;
  try {
    owner = JSON.parse(await readFile(path.join(dir, OWNER_FILE), 'utf8')) as Partial<WorkDirOwner>;
  } catch {
    return false;
  }
  return owner.host === hostname() && typeof owner.pid === 'number' && owner.pid !== process.pid && !processExists(owner.pid);
}
