import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import { processExists } from '../process/process-exists.ts';

/** A bundled script and every file it was made from (absolute paths). */
export interface Bundle {
  script: string;
  inputs: string[];
}

/** Where a script came from: a cache file whose inputs were all unchanged, or a bundling. */
export type BundleSource = 'cache' | 'bundle';

interface InputStamp {
  path: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface CacheFile {
  format: typeof FORMAT;
  key: string;
  inputs: InputStamp[];
  script: string;
}

const FORMAT = 1;

/**
 * An input whose mtime is this close to the bundling's start may have changed while esbuild read
 * it: its stamp could then describe content the script was not made from, so the cache is not
 * written (the next process bundles again). Generous for filesystems whose clock is not ours (NFS).
 */
const RACY_WINDOW_MS = 2000;

/**
 * The script of `key`, from the first of `dirs` holding a cache file whose inputs all still have
 * the size, mtime and ctime recorded; otherwise from `build()`, then written to the first of `dirs`
 * that takes it (temp file, then rename, so no process reads a half-written cache).
 *
 * Why stamps and not content hashes: stating ~120 files takes ~1 ms, hashing them ~9 ms. ctime
 * catches what mtime alone misses: npm extracts every package file with the same fixed mtime, and
 * copies that preserve mtimes (rsync -a, tar) set ctime to now; a tool cannot set it back.
 *
 * Never rejects for the cache: a missing, corrupt or foreign cache file is bundled over, and a
 * folder that cannot be written (read-only install, full disk) leaves the script in memory, as
 * before there was a cache. Both are told at debug. `build()` failing rejects.
 */
export async function cachedBundle(key: string, build: () => Promise<Bundle>, options: { dirs: string[]; logger?: Pick<Logger, 'debug'> }): Promise<{ script: string; from: BundleSource }> {
  const debug = options.logger?.debug ?? (() => {});
  const name = `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`;
  const missed: Record<string, string> = {};
  for (const dir of options.dirs) {
    const file = path.join(dir, name);
    const outcome = await readCache(file, key);
    if (typeof outcome !== 'string') {
      debug('bundled script read from its cache', { key, file });
      return { script: outcome.script, from: 'cache' };
    }
    missed[file] = outcome;
  }
  const startedAt = Date.now();
  const bundle = await build();
  const stamps = await stampsToCache(bundle.inputs, startedAt);
  if (typeof stamps === 'string') {
    debug('bundled script not cached', { key, missed, why: stamps });
  } else {
    const written = await writeCache(options.dirs, name, { format: FORMAT, key, inputs: stamps, script: bundle.script });
    debug('bundled script', { key, missed, ...written });
  }
  return { script: bundle.script, from: 'bundle' };
}

/** The inputs' stamps, or why a script bundled from them since `startedAt` is not to be cached. */
async function stampsToCache(inputs: string[], startedAt: number): Promise<InputStamp[] | string> {
  let stamps: InputStamp[];
  try {
    stamps = await Promise.all(inputs.map(stampOf));
  } catch (error) {
    return `an input cannot be read: ${(error as Error).message}`;
  }
  const racy = stamps.find((input) => input.mtimeMs > startedAt - RACY_WINDOW_MS);
  return racy ? `${racy.path} changed just before or while it was bundled` : stamps;
}

/** The cache file's content if it is whole, of `key`, and every input is unchanged; otherwise why not. */
async function readCache(file: string, key: string): Promise<CacheFile | string> {
  const refusal = await untrustedFolder(path.dirname(file));
  if (refusal) return refusal;
  let cache: CacheFile;
  try {
    cache = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache file' : `unreadable: ${(error as Error).message}`;
  }
  if (cache?.format !== FORMAT || cache.key !== key || typeof cache.script !== 'string' || !Array.isArray(cache.inputs)) return 'not a cache file of this script';
  const current = await Promise.all(cache.inputs.map((input) => stampOf(String(input?.path)).catch(() => undefined)));
  const changed = cache.inputs.findIndex((input, index) => !sameStamp(input, current[index]));
  return changed < 0 ? cache : `changed: ${cache.inputs[changed]?.path}`;
}

/** Writes to the first folder that takes the file; says where, or why none did. */
async function writeCache(dirs: string[], name: string, cache: CacheFile): Promise<{ cached: string } | { notCached: Record<string, string> }> {
  const notCached: Record<string, string> = {};
  const text = JSON.stringify(cache);
  for (const dir of dirs) {
    const file = path.join(dir, name);
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const refusal = await untrustedFolder(dir);
      if (refusal) throw new Error(refusal);
      await removeOrphanedTemps(dir, name);
      await writeFile(temp, text, { flag: 'wx' });
      await rename(temp, file);
      return { cached: file };
    } catch (error) {
      notCached[dir] = (error as Error).message;
      await unlink(temp).catch(() => undefined);
    }
  }
  return { notCached };
}

/**
 * Removes the temp files of `name` whose writer is gone (a process killed between writing and
 * renaming leaves its `<name>.<pid>.<hex>.tmp`); a live writer's file is left to it.
 */
async function removeOrphanedTemps(dir: string, name: string): Promise<void> {
  const pattern = new RegExp(`^${name.replaceAll('.', '\\.')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  for (const entry of await readdir(dir)) {
    const pid = Number(pattern.exec(entry)?.[1]);
    if (pid > 0 && !processExists(pid)) await unlink(path.join(dir, entry)).catch(() => undefined);
  }
}

/**
 * The script is run as code, so a folder another user could write to (a planted netflow-lake-<uid>
 * in a shared /tmp) is neither read nor written: it must be ours or root's and not world-writable.
 */
async function untrustedFolder(dir: string): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  let folder;
  try {
    folder = await stat(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache file' : `unreadable: ${(error as Error).message}`;
  }
  if (!folder.isDirectory()) return `${dir} is not a folder`;
  if ((folder.uid !== uid && folder.uid !== 0) || (folder.mode & 0o002) !== 0) return `${dir} belongs to another user or is world-writable`;
  return undefined;
}

async function stampOf(file: string): Promise<InputStamp> {
  const { size, mtimeMs, ctimeMs } = await stat(file);
  return { path: file, size, mtimeMs, ctimeMs };
}

function sameStamp(recorded: InputStamp | undefined, current: InputStamp | undefined): boolean {
  return !!recorded && !!current && recorded.size === current.size && recorded.mtimeMs === current.mtimeMs && recorded.ctimeMs === current.ctimeMs;
}
