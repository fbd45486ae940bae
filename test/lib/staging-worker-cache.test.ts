import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGING_SOURCES } from '../../lib/sources/staging-sources.ts';
import { StagingPool } from '../../lib/staging/staging-pool.ts';
import { cachedWorkerScript } from '../../lib/staging/staging-worker-script.ts';

/**
 * The staging worker's bundled script is cached across processes (lib/staging/cached-bundle.ts):
 * real esbuild, real files, real child processes. A cache is used only while every input it was
 * bundled from is unchanged, and a cache that cannot be read or written never fails a run.
 */
const execFileAsync = promisify(execFile);
const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
/** Fixture sources are dated well before any bundling: a file changed within seconds of one is not cached (RACY_WINDOW_MS). */
const PAST = new Date('2024-05-01T13:00:00Z');
const EARLIER = new Date('2024-05-01T12:00:00Z');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-worker-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const slug = (name: string) => name.replace(/\W+/g, '-');
type DebugLine = { msg: string; fields?: Record<string, unknown> };

/** A tiny worker module importing another, both dated PAST, and an empty cache folder of its own. */
async function project(name: string) {
  const root = path.join(dir, name);
  const entry = path.join(root, 'src', 'entry.ts');
  const helper = path.join(root, 'src', 'helper.ts');
  await mkdir(path.dirname(entry), { recursive: true });
  await writeFile(entry, "import { greeting } from './helper.ts';\nconsole.log(greeting);\n");
  await writeFile(helper, "export const greeting = 'hello-1';\n");
  await utimes(entry, PAST, PAST);
  await utimes(helper, PAST, PAST);
  const cacheDir = path.join(root, 'cache');
  const logs: DebugLine[] = [];
  const script = (dirs: string[] = [cacheDir]) => cachedWorkerScript(entry, { dirs, logger: { debug: (msg, fields) => logs.push({ msg, fields }) } });
  return { root, entry, helper, cacheDir, logs, script };
}

const cacheFileIn = async (cacheDir: string) => {
  const names = (await readdir(cacheDir)).filter((name) => name.endsWith('.json'));
  expect(names).toHaveLength(1);
  return path.join(cacheDir, names[0]!);
};

describe("a pool's staging worker script", () => {
  it('in a new process: the first bundles and caches it, the second starts its pool from the cache without bundling; both stage with it', async () => {
    const cacheDir = path.join(dir, 'process-cache');
    const rawPath = path.join(dir, 'process.log');
    await writeFile(rawPath, `${AWS_HEADER}\n2 123456789012 eni-0a1b2c3d 10.0.1.1 93.184.216.34 40000 443 6 10 5000 1714568410 1714568470 ACCEPT OK\n`);
    const child = async (run: number) => {
      const args = JSON.stringify({ cacheDir, rawPath, linesPath: path.join(dir, `process-${run}.txt`) });
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'support', 'cached-worker-script-child.ts'), args], { timeout: 60_000 });
      return JSON.parse(stdout) as { launch: string; from: string; sha256: string; stagedLines: number };
    };
    const first = await child(1);
    const second = await child(2);
    expect(first).toMatchObject({ launch: 'bundle', from: 'bundle', stagedLines: 2 });
    expect(second).toEqual({ ...first, from: 'cache' });
    expect(await readFile(path.join(dir, 'process-2.txt'), 'utf8')).toBe(await readFile(path.join(dir, 'process-1.txt'), 'utf8'));
  });

  it("a pool tells its logger, at debug, where its threads' script came from (the default cache folders)", async () => {
    const logs: DebugLine[] = [];
    const pool = new StagingPool({ sources: STAGING_SOURCES, workers: 1, logger: { warn: () => {}, debug: (msg, fields) => logs.push({ msg, fields }) } });
    try {
      expect(await pool.start()).toBe('bundle');
    } finally {
      await pool.close();
    }
    expect(logs).toEqual([{ msg: expect.stringMatching(/^bundled script/), fields: expect.objectContaining({ key: expect.stringContaining('staging-worker.ts') }) }]);
  });
});

describe('cachedWorkerScript: the cache is used only while its inputs are unchanged', () => {
  it('bundles once, then reads the same script from the cache', async () => {
    const { script, logs, cacheDir } = await project('reuse');
    const first = await script();
    expect(first.from).toBe('bundle');
    expect(first.script).toContain('hello-1');
    expect(await script()).toEqual({ ...first, from: 'cache' });
    expect(logs.map((line) => line.msg)).toEqual(['bundled script', 'bundled script read from its cache']);
    expect(logs[0]!.fields).toMatchObject({ cached: await cacheFileIn(cacheDir), missed: { [await cacheFileIn(cacheDir)]: 'no cache file' } });
  });

  it("removes a killed writer's temp file when it writes the cache, and leaves a live writer's", async () => {
    const { script, helper, cacheDir } = await project('orphaned-temp');
    expect((await script()).from).toBe('bundle');
    const cacheFile = await cacheFileIn(cacheDir);
    // A process that has exited: its pid names no process any more.
    const { stdout } = await execFileAsync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const orphan = `${cacheFile}.${stdout}.0a1b2c3d.tmp`;
    const live = `${cacheFile}.${process.pid}.0a1b2c3d.tmp`;
    await writeFile(orphan, 'half a cache');
    await writeFile(live, 'being written');
    await utimes(helper, EARLIER, EARLIER);
    expect((await script()).from).toBe('bundle');
    const left = await readdir(cacheDir);
    expect(left).not.toContain(path.basename(orphan));
    expect(left).toContain(path.basename(live));
    expect(left).toContain(path.basename(cacheFile));
  });

  const CHANGES = [
    { name: 'an import touched (mtime only)', change: (helper: string) => utimes(helper, EARLIER, EARLIER), greeting: 'hello-1' },
    { name: 'an import rewritten at the same size', change: (helper: string) => writeAt(helper, "export const greeting = 'hello-2';\n", EARLIER), greeting: 'hello-2' },
    // What rsync -a or tar do: the old mtime put back. ctime still moves, and no tool can set it.
    { name: 'an import rewritten at the same size, its old mtime put back', change: (helper: string) => writeAt(helper, "export const greeting = 'hello-3';\n", PAST), greeting: 'hello-3' },
  ];
  async function writeAt(file: string, text: string, time: Date) {
    await writeFile(file, text);
    await utimes(file, time, time);
  }
  it.each(CHANGES)('$name: bundled again, and that bundle cached', async ({ name, change, greeting }) => {
    const { script, helper, logs } = await project(slug(name));
    expect((await script()).from).toBe('bundle');
    expect((await script()).from).toBe('cache');
    const before = await stat(helper);
    await change(helper);
    if (name.endsWith('put back')) expect((await stat(helper)).mtimeMs).toBe(before.mtimeMs);
    const rebuilt = await script();
    expect(rebuilt.from).toBe('bundle');
    expect(rebuilt.script).toContain(greeting);
    expect(logs[2]!.msg).toBe('bundled script');
    expect(Object.values(logs[2]!.fields!.missed as object)).toEqual([`changed: ${helper}`]);
    expect(await script()).toEqual({ ...rebuilt, from: 'cache' });
  });

  it('an input changed within seconds of the bundling is not cached (it may have changed while esbuild read it)', async () => {
    const { script, helper, logs } = await project('racy');
    const now = new Date();
    await utimes(helper, now, now);
    expect((await script()).from).toBe('bundle');
    expect((await script()).from).toBe('bundle');
    expect(logs[0]).toEqual({ msg: 'bundled script not cached', fields: expect.objectContaining({ why: `${helper} changed just before or while it was bundled` }) });
    await utimes(helper, PAST, PAST);
    expect((await script()).from).toBe('bundle');
    expect((await script()).from).toBe('cache');
  });
});

describe('cachedWorkerScript: a cache that cannot be used is bundled over, never an error', () => {
  const DAMAGES = [
    { name: 'truncated (a half-written file from another tool)', damage: async (file: string) => truncate(file, Math.floor((await stat(file)).size / 2)), reason: /^unreadable: / },
    { name: 'not JSON', damage: (file: string) => writeFile(file, 'garbage'), reason: /^unreadable: / },
    { name: 'JSON of something else', damage: (file: string) => writeFile(file, '{"format":1,"key":"another script","inputs":[],"script":"evil()"}'), reason: /^not a cache file of this script$/ },
    {
      name: 'an input listed that no longer exists',
      damage: async (file: string) => {
        const cache = JSON.parse(await readFile(file, 'utf8')) as { inputs: { path: string }[] };
        cache.inputs[0]!.path = path.join(dir, 'gone.ts');
        await writeFile(file, JSON.stringify(cache));
      },
      reason: /^changed: .*gone\.ts$/,
    },
  ];
  it.each(DAMAGES)('$name: ignored, rebuilt and rewritten', async ({ name, damage, reason }) => {
    const { script, cacheDir, logs } = await project(slug(name));
    const good = await script();
    const file = await cacheFileIn(cacheDir);
    await damage(file);
    expect(await script()).toEqual(good);
    expect(logs[1]).toMatchObject({ msg: 'bundled script', fields: { cached: file, missed: { [file]: expect.stringMatching(reason) } } });
    expect(await script()).toEqual({ ...good, from: 'cache' });
  });

  it('a cache folder that cannot be created: the next folder takes the cache; with none left the script stays in memory', async () => {
    const { root, script, cacheDir, logs } = await project('unwritable');
    // Under a regular file: no folder can be made there, even by root (which chmod does not stop).
    await writeFile(path.join(root, 'a-file'), '');
    const unwritable = path.join(root, 'a-file', 'cache');
    const alone = await script([unwritable]);
    expect(alone.from).toBe('bundle');
    expect((await script([unwritable])).from).toBe('bundle');
    expect(logs[0]).toMatchObject({ msg: 'bundled script', fields: { notCached: { [unwritable]: expect.stringMatching(/ENOTDIR/) } } });
    expect(await script([unwritable, cacheDir])).toEqual(alone);
    expect(await script([unwritable, cacheDir])).toEqual({ ...alone, from: 'cache' });
  });

  it('a read-only cache folder holding a valid cache (one prebuilt by npm ci) is read', async () => {
    const { script, cacheDir } = await project('read-only');
    const built = await script();
    await chmod(cacheDir, 0o555);
    try {
      expect(await script()).toEqual({ ...built, from: 'cache' });
    } finally {
      await chmod(cacheDir, 0o755);
    }
  });

  it('a world-writable cache folder (one planted in a shared /tmp) is neither read nor written', async () => {
    const { script, cacheDir, logs } = await project('world-writable');
    const built = await script();
    const file = await cacheFileIn(cacheDir);
    await chmod(cacheDir, 0o777);
    expect(await script()).toEqual(built);
    expect(logs[1]).toMatchObject({
      msg: 'bundled script',
      fields: { missed: { [file]: `${cacheDir} belongs to another user or is world-writable` }, notCached: { [cacheDir]: `${cacheDir} belongs to another user or is world-writable` } },
    });
  });
});
