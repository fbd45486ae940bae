import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE_LIMITS, ObjectUnreadableError, stageLines, type StageLimits } from '../../lib/staging/stage-lines.ts';
import type { ChildFileOutcome } from './support/stage-in-child.ts';
import { count, FULL, randomInt, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suite 7 of issue 8: hostile raw files against the stager (lib/staging/stage-lines.ts), which is
 * what every line-based raw object goes through before any parser or DuckDB sees it.
 * Silent partial reads: an object whose bytes are damaged must be refused whole (or its damaged
 * lines refused one by one), never read as a shorter, healthy-looking object.
 */
const execFileAsync = promisify(execFile);
const CHILD = path.join(import.meta.dirname, 'support', 'stage-in-child.ts');
const seed = suiteSeed();
const random = seededRandom(seed);

const T = 1714568400;
const awsLine = (n: number) => `2 123456789012 eni-0web1000000000001 93.184.216.34 10.0.1.10 ${40000 + (n % 20000)} 443 6 10 5000 ${T + n} ${T + n + 30} ACCEPT OK`;
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const text = (from: number, lines: number) => [HEADER, ...Array.from({ length: lines }, (_, i) => awsLine(from + i))].join('\n') + '\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-hostile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stage(bytes: Buffer, limits: StageLimits = DEFAULT_STAGE_LIMITS): Promise<{ unreadable: string | null; staged: string[]; rejected: number }> {
  const input = path.join(dir, `in-${randomBytes(4).toString('hex')}`);
  const output = `${input}.txt`;
  await writeFile(input, bytes);
  try {
    const result = await stageLines(input, output, limits);
    const staged = (await readFile(output, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf('\x1f') + 1));
    return { unreadable: null, staged, rejected: result.rejected.length };
  } catch (error) {
    if (!(error instanceof ObjectUnreadableError)) throw error;
    return { unreadable: error.message, staged: [], rejected: 0 };
  } finally {
    await rm(input, { force: true });
    await rm(output, { force: true });
  }
}

describe('hostile input: damaged gzip is never read as a shorter file', () => {
  it('a single-member gzip file cut at every offset stages nothing', async () => {
    const lines = count(60, 30);
    const full = gzipSync(text(0, lines));
    let refusedWhole = 0;
    let silentPartial = 0;
    for (let cut = 0; cut < full.length; cut++) {
      const outcome = await stage(full.subarray(0, cut));
      if (outcome.unreadable) refusedWhole++;
      // Offset 0 is an empty object, offset 1 a one-byte plain file holding 0x1f (refused as a line).
      if (outcome.staged.length > 0) silentPartial++;
    }
    const whole = await stage(full);
    expect(whole.staged).toEqual(text(0, lines).trimEnd().split('\n'));
    expect(silentPartial).toBe(0);
    expect(refusedWhole).toBe(full.length - 2);
    reportFigures('hostile-input/truncated-every-offset', { seed, file_bytes: full.length, cuts: full.length, refused_whole: refusedWhole, silent_partial_reads: silentPartial });
  });

  it('concatenated members are read whole; cut anywhere else than a member boundary, refused', async () => {
    const members = [text(0, 10), text(100, 10), text(200, 10)].map((part) => gzipSync(part));
    const file = Buffer.concat(members);
    const all = members
      .map((_, i) =>
        text(i * 100, 10)
          .trimEnd()
          .split('\n'),
      )
      .flat();
    expect((await stage(file)).staged).toEqual(all);
    const boundaries = new Map<number, number>();
    let offset = 0;
    members.forEach((member, i) => boundaries.set((offset += member.length), (i + 1) * 11));
    let silentPartial = 0;
    let atBoundary = 0;
    for (let cut = 2; cut < file.length; cut++) {
      const outcome = await stage(file.subarray(0, cut));
      if (boundaries.has(cut)) {
        // A gzip file cut exactly after a member is a valid, shorter gzip file: the format cannot
        // tell. The stager reads exactly the members before the cut; the object's listed size and
        // ETag (in the run id and the ledger) are what tell this object from the full one.
        expect(outcome.staged).toEqual(all.slice(0, boundaries.get(cut)));
        atBoundary++;
      } else if (!outcome.unreadable) {
        silentPartial++;
      }
    }
    expect(silentPartial).toBe(0);
    reportFigures('hostile-input/concatenated-members', { seed, file_bytes: file.length, cuts: file.length - 2, member_boundaries: atBoundary, silent_partial_reads: silentPartial });
  });

  it('bytes after the last member that are not a member (damaged header, padding, garbage) make the object unreadable', async () => {
    const first = gzipSync(text(0, 5));
    const second = gzipSync(text(100, 5));
    const damaged = Buffer.from(second);
    damaged[0] = 0x00; // the second member's magic: Node's gunzip would stop quietly here
    const cases: [string, Buffer][] = [
      ['second member with a damaged magic byte', Buffer.concat([first, damaged])],
      ['zero padding', Buffer.concat([first, Buffer.alloc(512)])],
      ['text after the member', Buffer.concat([first, Buffer.from(text(300, 2))])],
      ['a lone 0x1f after the member', Buffer.concat([first, Buffer.from([0x1f])])],
    ];
    for (const [name, bytes] of cases) {
      const outcome = await stage(bytes);
      expect(outcome.unreadable, name).toMatch(/gzip stream is corrupt/);
      expect(outcome.staged, name).toEqual([]);
    }
  });

  it('a bad CRC, a bad length and random bit flips are refused or read identically', async () => {
    const original = text(0, 40);
    const full = gzipSync(original);
    const badCrc = Buffer.from(full);
    badCrc[full.length - 8]! ^= 0x01;
    const badLength = Buffer.from(full);
    badLength[full.length - 1]! ^= 0x01;
    expect((await stage(badCrc)).unreadable).toMatch(/incorrect data check/);
    expect((await stage(badLength)).unreadable).toMatch(/incorrect length check/);
    const flips = count(2000, 300);
    let refused = 0;
    let identical = 0;
    let silentlyDifferent = 0;
    for (let i = 0; i < flips; i++) {
      const bytes = Buffer.from(full);
      const at = randomInt(random, bytes.length);
      bytes[at]! ^= 1 << randomInt(random, 8);
      const outcome = await stage(bytes);
      if (outcome.unreadable) refused++;
      else if (outcome.staged.join('\n') === original.trimEnd())
        identical++; // header fields outside the CRC (mtime, OS, XFL)
      else if (outcome.staged.length > 0 || outcome.rejected === 0) silentlyDifferent++;
    }
    expect(silentlyDifferent).toBe(0);
    reportFigures('hostile-input/bit-flips', { seed, flips, refused, identical_content: identical, silently_different: silentlyDifferent });
  });

  it('lines that are not UTF-8 or hold NUL or 0x1f are refused one by one; the lines around them are staged', async () => {
    const parts = [
      Buffer.from(`${awsLine(1)}\n`),
      Buffer.from([0x32, 0x20, 0xc3, 0x28, 0x0a]), // invalid 2-byte sequence
      Buffer.from(`${awsLine(2)}\n`),
      Buffer.from([0x32, 0x20, 0xed, 0xa0, 0x80, 0x0a]), // UTF-16 surrogate encoded in UTF-8
      Buffer.from(`2 12345\u0000678 x\n`),
      Buffer.from(`2 12345\u001f678 x\r\n`),
      Buffer.from([0xf4, 0x90, 0x80, 0x80, 0x0a]), // above U+10FFFF
      Buffer.from(`${awsLine(3)}\r\n`),
    ];
    for (const bytes of [Buffer.concat(parts), gzipSync(Buffer.concat(parts))]) {
      const outcome = await stage(bytes);
      expect(outcome.staged).toEqual([awsLine(1), awsLine(2), awsLine(3)]);
      expect(outcome.rejected).toBe(5);
    }
  });

  it('an object made only of bad lines is refused whole once past the rejected-line cap (memory stays bounded)', async () => {
    const limits = { ...DEFAULT_STAGE_LIMITS, maxRejectedLines: 1000 };
    const bytes = Buffer.concat(Array.from({ length: 5000 }, () => Buffer.from([0xff, 0x0a])));
    const outcome = await stage(bytes, limits);
    expect(outcome.unreadable).toMatch(/more than 1000 lines rejected/);
  });
});

describe('hostile input: bombs and giant lines in a process of their own, with healthy files in the same batch', () => {
  const BOMB_BYTES = 10 * 1024 ** 3; // what the flat bomb would inflate to
  const LONG_LINE_BYTES = count(1024 ** 3, 64 * 1024 ** 2);
  const CAPPED_DECOMPRESSED = count(DEFAULT_STAGE_LIMITS.maxDecompressedBytes, 256 * 1024 ** 2);
  /** Node's own footprint plus the stager's buffers; staging must not grow with the input. */
  const RSS_CAP = 256 * 1024 ** 2;
  const healthy = [text(0, 500), text(1000, 500), text(2000, 500)];
  let child: { outcomes: ChildFileOutcome[]; peakRssBytes: number };
  const sizes: Record<string, number> = {};
  let elapsedMs = 0;

  beforeAll(async () => {
    const files: string[] = [];
    const add = async (name: string, write: (out: NodeJS.WritableStream) => Promise<void> | void) => {
      const file = path.join(dir, name);
      const out = createWriteStream(file);
      await write(out);
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
      sizes[name] = (await stat(file)).size;
      files.push(file);
    };
    const writeAll = async (out: NodeJS.WritableStream, chunk: Buffer, times: number) => {
      for (let i = 0; i < times; i++) if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    };
    await add('healthy-0.log.gz', (out) => void out.write(gzipSync(healthy[0]!)));
    // Flat bomb: 10 GiB of zeros as 160 concatenated members of 64 MiB each (deflate cannot exceed
    // ~1032:1, so a 10 GiB bomb is ~10 MiB on disk).
    const zeroMember = gzipSync(Buffer.alloc(64 * 1024 ** 2), { level: 9 });
    await add('bomb-flat-10g.log.gz', (out) => writeAll(out, zeroMember, BOMB_BYTES / (64 * 1024 ** 2)));
    // Nested bomb ("1 KB → 10 GB"): the flat bomb gzipped again. One gzip layer is undone, so the
    // stager sees ~10 MiB of binary and refuses its lines; the inner layer is never inflated.
    const flat = Buffer.concat(Array.from({ length: BOMB_BYTES / (64 * 1024 ** 2) }, () => zeroMember));
    await add('bomb-nested.log.gz', (out) => void out.write(gzipSync(flat, { level: 9 })));
    await add('healthy-1.log.gz', (out) => void out.write(gzipSync(healthy[1]!)));
    // A bomb under the ratio cap (~100:1, text lines): stopped by the decompressed-size cap.
    const block = Buffer.from(Array.from({ length: 4096 }, () => `${randomBytes(12).toString('hex')} ${'a'.repeat(170)}`).join('\n') + '\n');
    const textMember = gzipSync(Buffer.concat(Array.from({ length: 16 }, () => block)));
    const members = Math.ceil((CAPPED_DECOMPRESSED * 1.5) / (block.length * 16));
    await add('bomb-under-ratio.log.gz', (out) => writeAll(out, textMember, members));
    // One line of LONG_LINE_BYTES, then a healthy line: written in 1 MiB pieces, never held whole.
    const piece = Buffer.alloc(1024 ** 2, 0x41);
    await add('one-giant-line.log', async (out) => {
      await writeAll(out, piece, LONG_LINE_BYTES / piece.length);
      out.write(`\n${awsLine(7)}\n`);
    });
    await add('healthy-2.log', (out) => void out.write(healthy[2]!));
    const limits: StageLimits = { ...DEFAULT_STAGE_LIMITS, maxDecompressedBytes: CAPPED_DECOMPRESSED };
    const started = Date.now();
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ files, outDir: dir, limits })], {
      maxBuffer: 64 * 1024 ** 2,
      timeout: 15 * 60_000,
    });
    elapsedMs = Date.now() - started;
    child = JSON.parse(stdout);
  }, 20 * 60_000);

  const outcome = (name: string) => child.outcomes.find((o) => path.basename(o.file) === name)!;

  it('stops the flat 10 GiB bomb at the ratio cap', () => {
    expect(outcome('bomb-flat-10g.log.gz').unreadable).toMatch(/compression ratio exceeds 1000:1/);
  });

  it('never inflates the inner layer of the nested bomb', () => {
    const nested = outcome('bomb-nested.log.gz');
    // Either refused whole (too many binary lines) or its few lines refused/staged as text the parser rejects.
    if (!nested.unreadable) expect(nested.bytesOut).toBeLessThan(sizes['bomb-flat-10g.log.gz']! * 2);
  });

  it('stops the under-ratio bomb at the decompressed-size cap', () => {
    expect(outcome('bomb-under-ratio.log.gz').unreadable).toBe(`decompressed size exceeds the limit of ${CAPPED_DECOMPRESSED} bytes`);
  });

  it('refuses the giant line alone, keeping 4 KiB of it, and stages the line after it', () => {
    const giant = outcome('one-giant-line.log');
    expect(giant.unreadable).toBeNull();
    expect(giant.rejected).toEqual([{ line: 1, reason: `line is ${LONG_LINE_BYTES} bytes, longer than the limit of ${DEFAULT_STAGE_LIMITS.maxLineBytes}`, textBytes: 4096 }]);
    expect(giant.stagedText).toBe(awsLine(7));
  });

  it('stages every healthy file in the same batch completely', () => {
    expect(['healthy-0.log.gz', 'healthy-1.log.gz', 'healthy-2.log'].map((name) => outcome(name).stagedText)).toEqual(healthy.map((h) => h.trimEnd()));
  });

  it('keeps peak RSS under the cap, whatever the input size', () => {
    reportFigures('hostile-input/bombs-and-giant-line', {
      seed,
      flat_bomb_file_bytes: sizes['bomb-flat-10g.log.gz'],
      flat_bomb_inflates_to: BOMB_BYTES,
      nested_bomb_file_bytes: sizes['bomb-nested.log.gz'],
      under_ratio_bomb_file_bytes: sizes['bomb-under-ratio.log.gz'],
      decompressed_cap: CAPPED_DECOMPRESSED,
      giant_line_bytes: LONG_LINE_BYTES,
      bombs_stopped: ['bomb-flat-10g.log.gz', 'bomb-under-ratio.log.gz'].filter((n) => outcome(n).unreadable).length,
      healthy_files_complete: 3,
      peak_rss_mib: Math.round(child.peakRssBytes / 1024 ** 2),
      rss_cap_mib: RSS_CAP / 1024 ** 2,
      elapsed_ms: elapsedMs,
      full: FULL,
    });
    expect(child.peakRssBytes).toBeLessThan(RSS_CAP);
  });
});

describe('hostile input in a real hourly run: healthy objects published 100 %', () => {
  it('bombs, a cut gzip, trailing garbage, a giant line and binary lines beside healthy objects', async () => {
    const { createLakeFixture } = await import('../support/lake-fixture.ts');
    const lake = await createLakeFixture({ config: { staging: { max_decompressed_bytes: 64 * 1024 ** 2, max_line_bytes: 1024 * 1024, max_compression_ratio: 1000, max_rejected_lines: 10_000 } } });
    try {
      const key = (stamp: string, id: string) => `raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0host_20240501T${stamp}Z_${id}.log.gz`;
      const healthy = [text(0, 300), text(1000, 300), text(2000, 300)];
      await lake.store.putBytes(key('1305', 'h0'), gzipSync(healthy[0]!));
      await lake.store.putBytes(key('1310', 'bomb'), Buffer.concat(Array.from({ length: 8 }, () => gzipSync(Buffer.alloc(16 * 1024 ** 2), { level: 9 }))));
      await lake.store.putBytes(key('1315', 'h1'), gzipSync(healthy[1]!));
      const cut = gzipSync(text(3000, 300));
      await lake.store.putBytes(key('1320', 'cut'), cut.subarray(0, cut.length - 5));
      await lake.store.putBytes(key('1325', 'garbage'), Buffer.concat([gzipSync(text(4000, 50)), Buffer.from('not gzip at all\n')]));
      await lake.store.putBytes(key('1330', 'giant'), gzipSync(Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.alloc(3 * 1024 ** 2, 0x61), Buffer.from(`\n${awsLine(7)}\n`)])));
      await lake.store.putBytes(key('1335', 'binary'), gzipSync(Buffer.concat([Buffer.from(`${HEADER}\n${awsLine(8)}\n`), randomBytes(4096), Buffer.from(`\n${awsLine(9)}\n`)])));
      await lake.store.putBytes(key('1340', 'h2'), gzipSync(healthy[2]!));
      const result = await lake.runHour('2024-05-01T13');
      expect(result.error ?? result.status).toBe('published');
      const { queryLake } = await import('../support/read-lake.ts');
      const published = await queryLake<{ id: string; n: bigint }>(lake, `SELECT regexp_extract(raw_object_key, '_([a-z0-9]+)\\.log\\.gz$', 1) AS id, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1`);
      const whole = await queryLake<{ id: string; reason: string }>(
        lake,
        `SELECT regexp_extract(raw_object_key, '_([a-z0-9]+)\\.log\\.gz$', 1) AS id, reason FROM quarantine WHERE raw_offset IS NULL ORDER BY 1`,
      );
      reportFigures('hostile-input/hourly-run', {
        seed,
        published: Object.fromEntries(published.map((r) => [r.id, Number(r.n)])),
        quarantined_whole: whole.map((w) => `${w.id}: ${w.reason.slice(0, 60)}`),
        counts: result.counts,
      });
      expect(Object.fromEntries(published.map((r) => [r.id, Number(r.n)]))).toMatchObject({ h0: 300, h1: 300, h2: 300, giant: 1 });
      expect(whole.map((w) => w.id)).toEqual(['bomb', 'cut', 'garbage']);
      const c = result.counts;
      expect(c.records_read).toBe(c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined);
    } finally {
      await lake.cleanup();
    }
  }, 300_000);
});

describe('hostile input: JSON documents (Azure PT1H.json) are streamed, never read whole', () => {
  it('a 3 GiB document is quarantined at its first byte, not loaded (a sparse file: no disk used)', async () => {
    const { stageJsonRecords } = await import('../../lib/staging/stage-json-records.ts');
    const { open: openFile } = await import('node:fs/promises');
    const file = path.join(dir, 'PT1H.json');
    const handle = await openFile(file, 'w');
    await handle.truncate(3 * 1024 ** 3);
    await handle.close();
    const before = process.memoryUsage().rss;
    await expect(stageJsonRecords(file, `${file}.txt`, DEFAULT_STAGE_LIMITS)).rejects.toThrow(ObjectUnreadableError);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 ** 2);
    await rm(file, { force: true });
  });
});

/**
 * Issue 18: hostile keys and entries in a listing. Each case sits in a real local store beside a
 * healthy object of the window; discovery must neither throw nor read what it must not: an unsafe
 * key inside the window is marked (quarantined by the run under the rendering), outside the window
 * never listed; an odd but safe key is data; a link is skipped and reported.
 */
describe('hostile input: keys and entries of a listing (discovery through the real local store)', () => {
  const AGENT = 'raw/agent/dt=2024-05-01/hour=13/';
  const CASES: { why: string; key: string; link?: string; outcome: 'quarantined' | 'read' | 'ignored' | 'skipped' }[] = [
    { why: 'a backslash in the window', key: `${AGENT}vm=a\\b/x-1.ndjson.gz`, outcome: 'quarantined' },
    { why: 'a backslash years before the window', key: 'raw/agent/dt=2021-01-01/hour=13/vm=a\\b/x-2.ndjson.gz', outcome: 'ignored' },
    { why: 'a key past 1,024 bytes (nested folders)', key: `${AGENT}${`${'d'.repeat(200)}/`.repeat(5)}dt=2024-05-01/hour=13/vm=v/x-3.ndjson.gz`, outcome: 'quarantined' },
    {
      why: 'a backslash in an account folder above the dates',
      key: 'raw/aws_vpc/AWSLogs/12\\34/vpcflowlogs/us-east-1/2024/05/01/1234_vpcflowlogs_us-east-1_fl-1_20240501T1305Z_h.log.gz',
      outcome: 'skipped',
    },
    { why: 'a newline and a bidi override (safe text, read as data)', key: `${AGENT}vm=n\nl\u202e/x-4.ndjson.gz`, outcome: 'read' },
    { why: 'a percent-encoded dot-dot segment', key: `${AGENT}%2e%2e/dt=2024-05-01/hour=13/vm=v/x-5.ndjson.gz`, outcome: 'quarantined' },
    { why: 'a dot-dot inside a name (only text)', key: `${AGENT}vm=%2e%2e/x-7.ndjson.gz`, outcome: 'read' },
    { why: 'a symbolic link to a file of the machine', key: `${AGENT}vm=link/x-6.ndjson.gz`, link: '/etc/hostname', outcome: 'skipped' },
  ];
  let root: string;
  const outcomes = new Map<string, string>();
  const skipped: string[] = [];
  beforeAll(async () => {
    const { mkdir, symlink } = await import('node:fs/promises');
    root = await mkdtemp(path.join(tmpdir(), 'netflow-hostile-keys-'));
    const put = async (key: string, link?: string) => {
      const file = path.join(root, ...key.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      if (link) await symlink(link, file);
      else await writeFile(file, gzipSync('{}\n'));
    };
    await put(`${AGENT}vm=healthy/x-0.ndjson.gz`);
    for (const c of CASES) await put(c.key, c.link);
    const { LocalFolderStore } = await import('../../lib/storage/local-folder-store.ts');
    const { discoverRunObjects } = await import('../../lib/sources/late-objects.ts');
    const { configSchema } = await import('../../schemas/config.ts');
    const { renderUnsafeKey } = await import('../../lib/storage/object-store.ts');
    const found = await discoverRunObjects(new LocalFolderStore(root), configSchema.parse({}), new Date('2024-05-01T13:00:00Z'), undefined, {
      onSkipped: (key) => skipped.push(key),
    });
    for (const c of CASES) {
      const listed = found.window.find((object) => object.key === c.key || object.key === renderUnsafeKey(c.key));
      const isSkipped = skipped.some((key) => c.key.startsWith(key.replace(/%5C/g, '\\')));
      outcomes.set(c.why, listed ? (listed.unsafeKey !== undefined ? 'quarantined' : 'read') : isSkipped ? 'skipped' : 'ignored');
    }
    expect(found.window.some((object) => object.key === `${AGENT}vm=healthy/x-0.ndjson.gz`)).toBe(true);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it.each(CASES)('$why: $outcome', ({ why, outcome }) => {
    expect(outcomes.get(why)).toBe(outcome);
  });

  it('never hands on a name with a backslash, a NUL or a dot segment', () => {
    expect(skipped.filter((key) => /[\\\u0000]/.test(key))).toEqual([]);
    reportFigures('reliability/hostile-keys', Object.fromEntries(outcomes));
  });
});
