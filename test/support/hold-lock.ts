import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { lockKey } from '../../lib/publish/partition-lock.ts';

/**
 * Writes a lock of hour 2024-05-01T13 in a local lake as "another-runner" of this (live) process
 * would hold it, until `expiresInMs` from now; returns its release (the lock file removed).
 */
export async function holdLock(lakeDir: string, generation: number, expiresInMs: number): Promise<() => Promise<void>> {
  const file = path.join(lakeDir, ...lockKey({ dt: '2024-05-01', hour: '13' }, generation).split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  const now = Date.now();
  const lock = {
    owner: 'another-runner',
    host: hostname(),
    pid: process.pid,
    generation,
    acquired_at: new Date(now).toISOString(),
    expires_at: new Date(now + expiresInMs).toISOString(),
    released: false,
  };
  await writeFile(file, JSON.stringify(lock));
  return () => rm(file, { force: true });
}
