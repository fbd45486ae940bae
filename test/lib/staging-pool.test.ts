import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE_LIMITS, ObjectUnreadableError, type StagedLines } from '../../lib/staging/stage-lines.ts';
import { stageObjectFile, type StageObjectTask } from '../../lib/staging/stage-object-file.ts';
import { MIN_BYTES_FOR_WORKER_THREADS, stageObjects, stagingThreads, type DiscoveredObject } from '../../lib/staging/stage-objects.ts';
import { STAGING_SOURCES } from '../../lib/sources/staging-sources.ts';
import { StagingPool, StagingWorkerError } from '../../lib/staging/staging-pool.ts';
import { bundleWorkerScript, STAGING_WORKER_SCRIPT_NAME, stagingWorkerScript } from '../../lib/staging/staging-worker-script.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';

/**
 * Staging in worker threads (lib/staging/staging-pool.ts) gives exactly what staging in the main
 * thread gives: the same results, staged bytes, errors and their kind, over real files.
 */
const execFileAsync = promisify(execFile);
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const awsLine = (n: number) => `2 123456789012 eni-0a1b2c3d 10.0.1.${n % 250} 93.184.216.34 ${40000 + n} 443 6 10 5000 1714568410 1714568470 ACCEPT OK`;
const FIREHOSE_FORMAT = `${AWS_HEADER} flow-direction traffic-path`;
const truncated = (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2));
/** Lines refused one by one (not UTF-8, a NUL) between good ones. */
const badLines = Buffer.concat([Buffer.from(`${AWS_HEADER}\n${awsLine(1)}\n`), Buffer.from([0x32, 0xc3, 0x28, 0x0a]), Buffer.from(`2 1\u00002\n${awsLine(2)}\n`)]);

interface Case {
  name: string;
  sourceType: string;
  staging: StageObjectTask['staging'];
  bytes: () => Promise<Buffer> | Buffer;
  formatHint?: string;
  unreadable?: RegExp;
}

const CASES: Case[] = [
  { name: 'AWS text with its header (the line typer, built in the worker)', sourceType: 'aws_vpc', staging: 'lines', bytes: () => fixture('aws-vpc/v2-default-documented.log') },
  { name: 'AWS gzip in a custom field order', sourceType: 'aws_vpc', staging: 'lines', bytes: () => fixture('aws-vpc/v5-custom-order.log.gz') },
  { name: 'AWS without a header, read with the configured format', sourceType: 'aws_vpc', staging: 'lines', formatHint: FIREHOSE_FORMAT, bytes: () => fixture('aws-vpc/headerless-firehose.log') },
  { name: 'AWS lines refused one by one, gzip', sourceType: 'aws_vpc', staging: 'lines', bytes: () => gzipSync(badLines) },
  { name: 'Azure NSG PT1H.json (records and tuples)', sourceType: 'azure_nsg', staging: 'json-records', bytes: () => fixture('azure-nsg/v2-documented-example.json') },
  { name: 'Azure VNet PT1H.json, gzip', sourceType: 'azure_vnet', staging: 'json-records', bytes: async () => gzipSync(await fixture('azure-vnet/v4-documented-example.json')) },
  { name: 'GCP JSON lines (no line typer)', sourceType: 'gcp_vpc', staging: 'lines', bytes: () => Buffer.from('{"a":1}\n\n{"b":2}\n') },
  {
    name: 'truncated gzip: unreadable',
    sourceType: 'aws_vpc',
    staging: 'lines',
    bytes: () => truncated(gzipSync(`${AWS_HEADER}\n${Array.from({ length: 500 }, (_, i) => awsLine(i)).join('\n')}\n`)),
    unreadable: /^gzip stream is corrupt or truncated/,
  },
  {
    name: 'Azure document cut off: unreadable',
    sourceType: 'azure_nsg',
    staging: 'json-records',
    bytes: async () => truncated(await fixture('azure-nsg/v2-documented-example.json')),
    unreadable: /./,
  },
  {
    name: 'too many refused lines: unreadable',
    sourceType: 'aws_vpc',
    staging: 'lines',
    bytes: () => Buffer.concat(Array.from({ length: 10_001 }, () => Buffer.from([0xff, 0x0a]))),
    unreadable: /^more than 10000 lines rejected/,
  },
];

type Outcome = { result: StagedLines; staged: string[] } | { error: { unreadable: boolean; name: string; message: string; code: unknown } };

/** What staging one task gave: the result and every file it wrote (`<lines file>` and the files beside it), or the error and its kind. */
async function outcomeOf(stage: (task: StageObjectTask) => Promise<StagedLines>, task: StageObjectTask): Promise<Outcome> {
  try {
    const result = await stage(task);
    const folder = path.dirname(task.linesPath);
    const prefix = path.basename(task.linesPath).replace(/\.txt$/, '.');
    const staged: string[] = [];
    for (const name of (await readdir(folder)).sort()) if (name.startsWith(prefix)) staged.push(`${name.slice(prefix.length)}: ${await readFile(path.join(folder, name), 'utf8')}`);
    return { result, staged };
  } catch (error) {
    const { name, message, code } = error as NodeJS.ErrnoException;
    return { error: { unreadable: error instanceof ObjectUnreadableError, name, message, code } };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-staging-pool-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StagingPool: a worker thread stages an object as the main thread does', () => {
  let pool: StagingPool;
  beforeAll(() => {
    pool = new StagingPool({ sources: STAGING_SOURCES, workers: 2 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('its threads start from the bundled script, not through tsx', async () => {
    expect(await pool.start()).toBe('bundle');
  });

  it.each(CASES)('$name', async (testCase) => {
    const folder = path.join(dir, testCase.name.replace(/\W+/g, '-'));
    await mkdir(folder, { recursive: true });
    const rawPath = path.join(folder, 'raw.bin');
    await writeFile(rawPath, await testCase.bytes());
    const task = (name: string): StageObjectTask => ({
      sourceType: testCase.sourceType,
      staging: testCase.staging,
      formatHint: testCase.formatHint,
      rawPath,
      linesPath: path.join(folder, `${name}.txt`),
      limits: DEFAULT_STAGE_LIMITS,
    });
    const inThread = await outcomeOf((t) => stageObjectFile(t, STAGING_SOURCES.byType), task('in-thread'));
    const inWorker = await outcomeOf((t) => pool.stage(t, `${testCase.name}.log`), task('in-worker'));
    expect(inWorker).toEqual(inThread);
    if (testCase.unreadable) {
      expect(inWorker).toMatchObject({ error: { unreadable: true, name: 'ObjectUnreadableError', message: expect.stringMatching(testCase.unreadable) } });
    } else {
      expect(inWorker).toMatchObject({ result: { stagedLines: expect.any(Number) } });
      if ('result' in inWorker) {
        expect(inWorker.result.stagedLines + inWorker.result.rejected.length).toBeGreaterThan(0);
        // The files compared hold what was staged (the lines file; the tuples and typed files beside it).
        expect(inWorker.staged.map((file) => file.slice(0, file.indexOf(':')))).toEqual(expect.arrayContaining(testCase.staging === 'json-records' ? ['tuples.txt', 'txt'] : ['txt']));
      }
    }
  });

  it('an unexpected error (the staged file cannot be written) keeps its message and code, and is not an unreadable object', async () => {
    const rawPath = path.join(dir, 'unexpected.log');
    await writeFile(rawPath, `${AWS_HEADER}\n${awsLine(1)}\n`);
    const linesPath = path.join(dir, 'unexpected-is-a-folder');
    await mkdir(linesPath);
    const task: StageObjectTask = { sourceType: 'aws_vpc', staging: 'lines', formatHint: undefined, rawPath, linesPath, limits: DEFAULT_STAGE_LIMITS };
    const inThread = await outcomeOf((t) => stageObjectFile(t, STAGING_SOURCES.byType), task);
    expect(inThread).toMatchObject({ error: { unreadable: false, message: expect.stringContaining(linesPath) } });
    expect(await outcomeOf((t) => pool.stage(t, 'unexpected.log'), task)).toEqual(inThread);
  });
});

describe('StagingPool: worker threads start from the bundled script, through tsx when it cannot be made', () => {
  const awsTask = async (name: string): Promise<StageObjectTask> => {
    const folder = path.join(dir, 'fallback');
    await mkdir(folder, { recursive: true });
    const rawPath = path.join(folder, `${name}.log`);
    await writeFile(rawPath, `${AWS_HEADER}\n${awsLine(1)}\n${awsLine(2)}\n`);
    return { sourceType: 'aws_vpc', staging: 'lines', formatHint: undefined, rawPath, linesPath: path.join(folder, `${name}.txt`), limits: DEFAULT_STAGE_LIMITS };
  };

  it('the bundled script loads nothing but Node built-ins (no tsx, no package from node_modules), and names itself in stacks', async () => {
    const script = await stagingWorkerScript(STAGING_SOURCES.workerModule);
    const required = new Set([...script.matchAll(/\brequire\(["']([^"']+)["']\)/g)].map((match) => match[1]!));
    expect(required.size).toBeGreaterThan(0);
    expect([...required].filter((name) => !builtinModules.includes(name.replace(/^node:/, '')))).toEqual([]);
    expect(script.trimEnd().endsWith(`//# sourceURL=${STAGING_WORKER_SCRIPT_NAME}`)).toBe(true);
  });

  it('a script that cannot be bundled (a module reading import.meta) is reported, and the threads start through tsx', async () => {
    const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
    const source = path.join(import.meta.dirname, 'support', 'import-meta-staging-worker.ts');
    const pool = new StagingPool({
      sources: STAGING_SOURCES,
      workers: 1,
      script: () => bundleWorkerScript(source).then((bundle) => bundle.script),
      logger: { warn: (msg, fields) => warnings.push({ msg, fields }) },
    });
    try {
      expect(await pool.start()).toBe('tsx');
      expect(warnings).toEqual([
        {
          msg: 'staging worker threads start through tsx: their script could not be bundled',
          fields: {
            error: expect.stringMatching(/^bundling .*import-meta-staging-worker\.ts gave 1 warning\(s\): test\/lib\/support\/import-meta-staging-worker\.ts:6: "import\.meta" is not available/),
          },
        },
      ]);
      const inThread = await outcomeOf((t) => stageObjectFile(t, STAGING_SOURCES.byType), await awsTask('fallback-in-thread'));
      expect(await outcomeOf((t) => pool.stage(t, 'fallback.log'), await awsTask('fallback-in-worker'))).toEqual(inThread);
    } finally {
      await pool.close();
    }
  });

  it('a pool closed while its script is bundled starts no thread', async () => {
    let release!: (script: string) => void;
    const pool = new StagingPool({ sources: STAGING_SOURCES, workers: 1, script: () => new Promise((resolve) => (release = resolve)) });
    const launched = pool.start();
    await pool.close();
    release(await stagingWorkerScript(STAGING_SOURCES.workerModule));
    expect(await launched).toBe('none');
  });
});

describe('StagingPool: a worker thread that dies fails the run with the reason, and nothing hangs', () => {
  const CRASHES = [
    { how: 'exit:3', message: /^a staging worker thread exited with code 3 while staging crash\.log$/ },
    { how: 'throw', message: /^a staging worker thread exited with code 1 while staging crash\.log: the worker broke down$/ },
  ];
  it.each(CRASHES)('$how', async ({ how, message }) => {
    const pool = new StagingPool({ sources: STAGING_SOURCES, workers: 1, entry: new URL('./support/crashing-staging-worker.mjs', import.meta.url) });
    const task: StageObjectTask = { sourceType: how, staging: 'lines', formatHint: undefined, rawPath: '/nonexistent', linesPath: '/nonexistent', limits: DEFAULT_STAGE_LIMITS };
    try {
      // The object waiting for the thread, and any object after, get the same error.
      const [first, queued] = await Promise.allSettled([pool.stage(task, 'crash.log'), pool.stage(task, 'queued.log')]);
      expect(first).toMatchObject({ status: 'rejected', reason: expect.any(StagingWorkerError) });
      expect(first.status === 'rejected' && first.reason.message).toMatch(message);
      expect(queued).toEqual(first);
      await expect(pool.stage(task, 'later.log')).rejects.toThrow(message);
    } finally {
      await pool.close();
    }
  });

  it('an idle worker thread does not hold the process open (a pool started and never closed)', async () => {
    const pool = new URL('../../lib/staging/staging-pool.ts', import.meta.url).href;
    const sources = new URL('../../lib/sources/staging-sources.ts', import.meta.url).href;
    const script = `import { StagingPool } from ${JSON.stringify(pool)}; import { STAGING_SOURCES } from ${JSON.stringify(sources)}; new StagingPool({ sources: STAGING_SOURCES, workers: 1 }).start(); console.log('started');`;
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout).toBe('started\n');
  });

  it('refuses objects once closed', async () => {
    const pool = new StagingPool({ sources: STAGING_SOURCES, workers: 1 });
    await pool.close();
    const task: StageObjectTask = { sourceType: 'aws_vpc', staging: 'lines', formatHint: undefined, rawPath: '/nonexistent', linesPath: '/nonexistent', limits: DEFAULT_STAGE_LIMITS };
    await expect(pool.stage(task, 'late.log')).rejects.toThrow('the staging pool is closed');
  });
});

describe('stagingThreads: how many objects are staged at once', () => {
  const MiB = 1024 * 1024;
  const plain = (...sizes: number[]) => sizes.map((size, index) => ({ key: `insights-logs/${index}/PT1H.json`, size }));
  const gzip = (...sizes: number[]) => sizes.map((size, index) => ({ key: `AWSLogs/${index}.log.gz`, size }));
  it.each([
    { name: 'every core for objects that pay for a worker thread', objects: plain(20 * MiB, 12 * MiB), configured: undefined, expected: 2 },
    { name: 'one thread for small objects (a worker thread would cost more than it saves)', objects: plain(16 * MiB, MIN_BYTES_FOR_WORKER_THREADS - 16 * MiB - 1), configured: undefined, expected: 1 },
    { name: 'gzip objects weigh what they decompress to (~6x): 6 MiB of AWS gzip pays for a worker thread', objects: gzip(3 * MiB, 3 * MiB), configured: undefined, expected: 2 },
    { name: '… and 5 MiB does not', objects: gzip(3 * MiB, 2 * MiB), configured: undefined, expected: 1 },
    { name: 'no more threads than objects', objects: plain(64 * MiB), configured: undefined, expected: 1 },
    { name: 'as configured, whatever the size', objects: plain(1, 1, 1, 1), configured: 3, expected: 3 },
    { name: 'configured 1: no worker threads', objects: plain(64 * MiB, 64 * MiB), configured: 1, expected: 1 },
    { name: 'nothing to stage', objects: plain(), configured: undefined, expected: 1 },
  ])('$name', ({ objects, configured, expected }) => {
    expect(stagingThreads(objects, configured, 2)).toBe(expected);
  });
});

describe('stageObjects in worker threads', () => {
  /** A mix of sources and outcomes, in the order staging numbers them. */
  const OBJECTS: { key: string; sourceType: string; bytes: () => Promise<Buffer> | Buffer }[] = [
    { key: 'aws/documented.log', sourceType: 'aws_vpc', bytes: () => fixture('aws-vpc/v2-default-documented.log') },
    { key: 'aws/custom-order.log.gz', sourceType: 'aws_vpc', bytes: () => fixture('aws-vpc/v5-custom-order.log.gz') },
    { key: 'aws/bad-lines.log.gz', sourceType: 'aws_vpc', bytes: () => gzipSync(badLines) },
    { key: 'aws/truncated.log.gz', sourceType: 'aws_vpc', bytes: () => truncated(gzipSync(`${AWS_HEADER}\n${awsLine(1)}\n`.repeat(200))) },
    { key: 'aws/empty.log', sourceType: 'aws_vpc', bytes: () => Buffer.alloc(0) },
    { key: 'aws/delivery.log.parquet', sourceType: 'aws_vpc', bytes: () => fixture('aws-vpc/v5-parquet-delivery.log.parquet') },
    { key: 'nsg/PT1H.json', sourceType: 'azure_nsg', bytes: () => fixture('azure-nsg/v2-documented-example.json') },
    { key: 'vnet/PT1H.json', sourceType: 'azure_vnet', bytes: () => fixture('azure-vnet/v4-documented-example.json') },
    { key: 'aws/many.log.gz', sourceType: 'aws_vpc', bytes: () => gzipSync(`${AWS_HEADER}\n${Array.from({ length: 20_000 }, (_, i) => awsLine(i)).join('\n')}\n`) },
  ];
  let store: LocalFolderStore;
  let objects: DiscoveredObject[];
  beforeAll(async () => {
    const root = path.join(dir, 'store');
    store = new LocalFolderStore(root);
    objects = [];
    for (const object of OBJECTS) {
      const bytes = await object.bytes();
      await mkdir(path.dirname(path.join(root, object.key)), { recursive: true });
      await writeFile(path.join(root, object.key), bytes);
      objects.push({ key: object.key, etag: '', size: bytes.length, lastModified: new Date(0), sourceType: object.sourceType, regionHint: null });
    }
  });

  /** Every staged object, reject and file of a staging, with paths relative to its work folder. */
  async function staged(workDir: string, threads: number) {
    const result = await stageObjects({ store, sources: STAGING_SOURCES, objects, workDir, limits: DEFAULT_STAGE_LIMITS, threads, formatHints: { aws_vpc: FIREHOSE_FORMAT } });
    const relative = (file?: string) => file && path.relative(workDir, file);
    const files: Record<string, string> = {};
    for (const entry of await readdir(workDir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files[path.relative(workDir, path.join(entry.parentPath, entry.name))] = (await readFile(path.join(entry.parentPath, entry.name))).toString('base64');
    }
    return {
      objects: result.objects.map((o) => ({ ...o, linesPath: relative(o.linesPath), parquetPath: relative(o.parquetPath) })),
      rejects: result.rejects,
      bytesDownloaded: result.bytesDownloaded,
      files,
    };
  }

  it('stages the same files, object indexes and rejects, in the same order, as the main thread alone', async () => {
    const inThread = await staged(path.join(dir, 'work-1'), 1);
    // One worker thread beside the main thread (this machine's default), and two.
    expect(await staged(path.join(dir, 'work-2'), 2)).toEqual(inThread);
    expect(await staged(path.join(dir, 'work-3'), 3)).toEqual(inThread);
    // The mix covers what it claims to: staged lines, refused lines, objects refused whole, Parquet.
    expect(inThread.objects.map((o) => o.stagedLines)).toEqual([expect.any(Number), expect.any(Number), 3, 0, 0, 0, expect.any(Number), expect.any(Number), 20_001]);
    expect(inThread.rejects.map((r) => [r.raw_object_key, r.raw_offset])).toEqual([
      ['aws/bad-lines.log.gz', 3],
      ['aws/bad-lines.log.gz', 4],
      ['aws/truncated.log.gz', null],
      ['aws/empty.log', null],
    ]);
    expect(inThread.objects[5]!.parquetPath).toBe(path.join('parquet', '5.parquet'));
  });

  it('an unexpected error in a worker thread fails the staging with the error the main thread gives', async () => {
    const failure = async (threads: number) => {
      const workDir = path.join(dir, 'work-unexpected');
      await rm(workDir, { recursive: true, force: true });
      // The staged file of object 2 cannot be written: a folder is in the way.
      await mkdir(path.join(workDir, 'lines', 'aws_vpc', '2.txt'), { recursive: true });
      const error = await stageObjects({ store, sources: STAGING_SOURCES, objects, workDir, limits: DEFAULT_STAGE_LIMITS, threads }).then(
        () => undefined,
        (caught: NodeJS.ErrnoException) => caught,
      );
      return error && { unreadable: error instanceof ObjectUnreadableError, name: error.name, message: error.message, code: error.code };
    };
    const inThread = await failure(1);
    expect(inThread).toMatchObject({ unreadable: false, message: expect.stringContaining(path.join('lines', 'aws_vpc', '2.txt')) });
    expect(await failure(2)).toEqual(inThread);
    expect(await failure(3)).toEqual(inThread);
  });

  const CHILD = path.join(import.meta.dirname, 'support', 'stage-objects-child');
  const LAUNCHES = [
    { how: 'node --import tsx', args: ['--import', 'tsx', `${CHILD}.ts`] },
    { how: 'tsx registered by the script (bin/netflow.mjs)', args: [`${CHILD}.mjs`] },
  ];
  /** Four small AWS objects for a child process to stage. */
  async function childRawDir(): Promise<string> {
    const rawDir = path.join(dir, 'child-raw');
    await mkdir(rawDir, { recursive: true });
    for (let i = 0; i < 4; i++) await writeFile(path.join(rawDir, `${i}.log.gz`), gzipSync(`${AWS_HEADER}\n${awsLine(i)}\n${awsLine(i + 1)}\n`));
    return rawDir;
  }
  it.each(LAUNCHES)('the process exits by itself once staged, launched with $how', async ({ args }) => {
    const rawDir = await childRawDir();
    const workDir = await mkdtemp(path.join(dir, 'child-work-'));
    const { stdout } = await execFileAsync(process.execPath, [...args, JSON.stringify({ rawDir, workDir, sourceType: 'aws_vpc', threads: 2 })], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ stagedLines: [3, 3, 3, 3], rejects: 0 });
  });

  it('the process ends with the error, not hanging, when staging fails in a worker thread', async () => {
    const rawDir = await childRawDir();
    const workDir = await mkdtemp(path.join(dir, 'child-work-'));
    await mkdir(path.join(workDir, 'lines', 'aws_vpc', '1.txt'), { recursive: true });
    const failed = await execFileAsync(process.execPath, ['--import', 'tsx', `${CHILD}.ts`, JSON.stringify({ rawDir, workDir, sourceType: 'aws_vpc', threads: 2 })], { timeout: 60_000 }).then(
      () => undefined,
      (error: { code: number; killed: boolean; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, killed: false, stderr: expect.stringContaining('EISDIR') });
  });
});
