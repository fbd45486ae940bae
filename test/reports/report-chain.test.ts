import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHourlyAnalytics } from '../../jobs/hourly-analytics.ts';
import { runReport } from '../../jobs/reports/run-daily-reports.ts';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import type { CapacityReport } from '../../lib/reports/capacity-report.ts';
import { jsonBytes, linkKey, sha256Hex, type ReportKind } from '../../lib/reports/report-chain.ts';
import type { ReportContext } from '../../lib/reports/report-context.ts';
import { parseReportPeriod } from '../../lib/reports/report-period.ts';
import { verifyReportChain, type ChainVerification } from '../../lib/reports/verify-report-chain.ts';
import { writeReport, type WrittenReport } from '../../lib/reports/write-report.ts';
import type { ReportChainLink, ReportManifest } from '../../schemas/report-manifest.ts';
import { randomInt, reportFigures, seededRandom, suiteSeed } from '../reliability/support/reliability-run.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { netflow } from '../support/run-netflow.ts';

/**
 * Tamper evidence of the reports: a chain of real compliance and capacity reports over the sample
 * lake, then more than 1,000 seeded mutations of its files through the library verifier (each must
 * be found, and named), the limit of an unanchored head, concurrent writers, and the real CLI.
 */
let lake: LakeFixture;
let lakeRoot: string;
let context: ReportContext;
const written: Record<ReportKind, WrittenReport[]> = { compliance: [], capacity: [] };

beforeAll(async () => {
  lake = await createLakeFixture();
  lakeRoot = path.join(lake.dir, 'lake');
  await deliverSamples({ store: lake.store });
  for (const hour of ['2024-05-01T13', '2024-05-01T14']) expect((await lake.runHour(hour)).status).toBe('published');
  await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date('2024-05-01T13:00:00Z'), to: new Date('2024-05-01T15:00:00Z') });
  let minute = 0;
  context = { config: lake.config, baseDir: lake.dir, store: lake.store, ledger: runLedgerOf({ config: lake.config, baseDir: lake.dir }), logger: lake.logger, now: () => new Date(Date.parse('2024-05-02T00:05:00Z') + minute++ * 60_000) };
  const plan: [ReportKind, string, string][] = [
    ['compliance', '2024-05-01', '2024-05-01'],
    ['capacity', '2024-05-01', '2024-05-01'],
    ['compliance', '2024-05-01T13', '2024-05-01T14'],
    // Regenerations of the same period: a new link each, the earlier generation kept.
    ['compliance', '2024-05-01', '2024-05-01'],
    ['capacity', '2024-05-01', '2024-05-01'],
  ];
  for (const [kind, from, to] of plan) {
    const result = await runReport(context, kind, parseReportPeriod(from, to));
    expect(result.error).toBeUndefined();
    written[kind].push(result.written!);
  }
  await writeFile(
    path.join(lake.dir, 'netflow.config.yaml'),
    [
      `store: { type: local, path: ${JSON.stringify(lakeRoot)} }`,
      `ledger: { path: ${JSON.stringify(lake.config.ledger.path)} }`,
      `work_dir: ${JSON.stringify(lake.config.work_dir)}`,
      `duckdb: { memory_limit: 1GB, max_temp_directory_size: 2GB, threads: 2 }`,
      `reference: { inventory: ${JSON.stringify(lake.config.reference.inventory)}, ip_ranges: ${JSON.stringify(lake.config.reference.ip_ranges)} }`,
      `rules: ${JSON.stringify(lake.config.rules)}`,
      '',
    ].join('\n'),
  );
}, 300_000);

afterAll(async () => {
  await lake?.cleanup();
});

const read = (key: string) => readFile(path.join(lakeRoot, key));
const manifestOf = async (report: WrittenReport) => JSON.parse((await read(report.manifest.key)).toString('utf8')) as ReportManifest;

describe('report chain', () => {
  test('each report writes its files, then a manifest chained to the previous one, then a numbered link', async () => {
    const version = (JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const kind of ['compliance', 'capacity'] as const) {
      const chain = written[kind];
      expect(chain.map((report) => report.chain.seq)).toEqual(chain.map((_, index) => index + 1));
      for (const [index, report] of chain.entries()) {
        const manifest = await manifestOf(report);
        expect(report.manifest.key).toBe(`${report.prefix}_report-manifest.json`);
        expect(report.prefix).toMatch(new RegExp(`^reports/${kind}/2024-05-01/20240502T\\d{4}00Z-[0-9a-f]{6}/$`));
        expect(manifest).toMatchObject({ manifest_version: 1, kind, seq: index + 1, tool: { name: 'netflow-lake', version } });
        expect(manifest.outputs).toEqual(report.files.map(({ name, key, sha256, bytes }) => ({ name, key, sha256, bytes })));
        expect(manifest.inputs.length).toBeGreaterThan(0);
        for (const input of manifest.inputs) expect(sha256Hex((await read(input.key)))).toBe(input.sha256);
        const before = chain[index - 1];
        expect(manifest.previous).toEqual(before ? { seq: before.chain.seq, key: before.manifest.key, sha256: sha256Hex(await read(before.manifest.key)) } : null);
        const link = JSON.parse((await read(linkKey(kind, index + 1))).toString('utf8')) as ReportChainLink;
        expect(link).toEqual({ kind, seq: index + 1, manifest_key: report.manifest.key, manifest_sha256: sha256Hex(await read(report.manifest.key)) });
        expect(report.chain.manifest_sha256).toBe(link.manifest_sha256);
      }
    }
    expect((await manifestOf(written.compliance[1]!)).period.label).toBe('2024-05-01T13_2024-05-01T14');
    // The regenerated day did not touch the first generation's files.
    for (const file of written.compliance[0]!.files) expect(sha256Hex(await read(file.key))).toBe(file.sha256);
    expect(lake.logs.some((line) => line.includes('"msg":"report written"') && line.includes(`"chain_head_sha256":"${written.compliance[2]!.chain.manifest_sha256}"`))).toBe(true);
  });

  test('verify: an intact chain passes, with and without inputs, anchored at the head or at an earlier link', async () => {
    for (const kind of ['compliance', 'capacity'] as const) {
      const head = written[kind].at(-1)!.chain;
      const result = await verifyReportChain(lake.store, { kind, inputs: true, expectHead: head.manifest_sha256 });
      expect(result.problems).toEqual([]);
      expect(result).toMatchObject({ status: 'intact', links: written[kind].length, head: { seq: head.seq, sha256: head.manifest_sha256 }, anchor: { seq: head.seq, links_after: 0 } });
      expect(result.reports.every((check) => check.inputs_checked > 0 && check.inputs_absent === 0)).toBe(true);
      const first = written[kind][0]!.chain;
      expect((await verifyReportChain(lake.store, { kind, expectHead: first.manifest_sha256 })).anchor).toEqual({ seq: 1, links_after: written[kind].length - 1 });
    }
    const hours = await verifyReportChain(lake.store, { kind: 'compliance', period: parseReportPeriod('2024-05-01T14', '2024-05-01T14') });
    expect(hours.reports.map((check) => [check.seq, check.in_scope])).toEqual([[1, true], [2, true], [3, true]]);
    const none = await verifyReportChain(lake.store, { kind: 'compliance', period: parseReportPeriod('2024-05-03', '2024-05-03') });
    expect(none.reports.map((check) => [check.in_scope, check.files_checked])).toEqual([[false, 0], [false, 0], [false, 0]]);
  });

  test('≥ 1,000 seeded mutations: every one detected and named; the intact chain never fails', async () => {
    const seed = suiteSeed();
    const random = seededRandom(seed);
    const started = performance.now();
    const originals = new Map<string, Buffer>();
    for (const key of await listFiles(lakeRoot, 'reports/')) originals.set(key, await read(key));
    const heads = { compliance: written.compliance.at(-1)!.chain.manifest_sha256, capacity: written.capacity.at(-1)!.chain.manifest_sha256 };
    const keys = [...originals.keys()];
    const kindOf = (key: string) => key.split('/')[1] as ReportKind;
    const classOf = (key: string) => (key.includes('/_chain/') ? 'link' : key.endsWith('/_report-manifest.json') ? 'manifest' : path.extname(key).slice(1));
    const byClass = (name: string) => keys.filter((key) => classOf(key) === name);
    const inputKeys = [...new Set((await Promise.all(Object.values(written).flat().map(manifestOf))).flatMap((manifest) => manifest.inputs.map((input) => input.key)))];
    for (const key of inputKeys) originals.set(key, await read(key));

    const touched = new Set<string>();
    const put = async (key: string, bytes: Buffer) => {
      touched.add(key);
      await mkdir(path.dirname(path.join(lakeRoot, key)), { recursive: true });
      await writeFile(path.join(lakeRoot, key), bytes);
    };
    const remove = async (key: string) => {
      touched.add(key);
      await rm(path.join(lakeRoot, key), { force: true });
    };
    const restore = async () => {
      for (const key of touched) {
        const original = originals.get(key);
        if (original) await writeFile(path.join(lakeRoot, key), original);
        else await rm(path.join(lakeRoot, key), { force: true });
      }
      touched.clear();
    };
    /** Rewrites link `seq`'s manifest with `edit` applied and re-signs the link, as someone with write access and the code would. */
    const resign = async (kind: ReportKind, seq: number, edit: (manifest: ReportManifest) => void) => {
      const link = JSON.parse((await read(linkKey(kind, seq))).toString('utf8')) as ReportChainLink;
      const manifest = JSON.parse((await read(link.manifest_key)).toString('utf8')) as ReportManifest;
      edit(manifest);
      const bytes = jsonBytes(manifest);
      await put(link.manifest_key, bytes);
      await put(linkKey(kind, seq), jsonBytes({ ...link, manifest_sha256: sha256Hex(bytes) }));
      return { key: link.manifest_key, sha256: sha256Hex(bytes) };
    };
    const flip = (bytes: Buffer) => {
      const copy = Buffer.from(bytes);
      const offset = randomInt(random, copy.length);
      copy[offset] = copy[offset]! ^ (1 + randomInt(random, 255));
      return copy;
    };
    const pick = <T>(list: readonly T[]) => list[randomInt(random, list.length)]!;
    const chainOf = (kind: ReportKind) => written[kind];

    type Mutation = { category: string; kind: ReportKind; named: string[]; apply: () => Promise<void>; inputs?: boolean; anchored?: boolean };
    const mutations: Mutation[] = [];
    for (const name of ['html', 'json', 'csv', 'manifest', 'link']) {
      for (let i = 0; i < 150; i++) {
        const key = pick(byClass(name));
        mutations.push({ category: `byte flip: ${name}`, kind: kindOf(key), named: [key], apply: () => put(key, flip(originals.get(key)!)) });
      }
    }
    for (let i = 0; i < 100; i++) {
      const key = pick(keys);
      mutations.push({ category: 'truncation', kind: kindOf(key), named: [key], apply: () => put(key, originals.get(key)!.subarray(0, randomInt(random, originals.get(key)!.length))) });
    }
    for (let i = 0; i < 20; i++) {
      const key = pick(keys);
      const extra = Buffer.from(Array.from({ length: 1 + randomInt(random, 16) }, () => randomInt(random, 256)));
      mutations.push({ category: 'bytes appended', kind: kindOf(key), named: [key], apply: () => put(key, Buffer.concat([originals.get(key)!, extra])) });
    }
    for (let i = 0; i < 50; i++) {
      const key = pick(inputKeys);
      // The daily compliance reports read every curated table, so its chain names every input.
      mutations.push({ category: 'byte flip: lake input (--inputs)', kind: 'compliance', named: [key], inputs: true, apply: () => put(key, flip(originals.get(key)!)) });
    }
    for (const key of keys) {
      const folder = key.includes('/_chain/') ? undefined : key.slice(0, key.lastIndexOf('/') + 1);
      // A removed tail link leaves its folder unreached; a removed middle link is a gap named by its key.
      const linked = key.includes('/_chain/') ? (JSON.parse(originals.get(key)!.toString('utf8')) as ReportChainLink).manifest_key.replace(/_report-manifest\.json$/, '') : undefined;
      mutations.push({ category: `deletion: ${classOf(key) === 'link' || classOf(key) === 'manifest' ? classOf(key) : 'report file'}`, kind: kindOf(key), named: [key, ...(folder ? [folder] : []), ...(linked ? [linked] : [])], apply: () => remove(key) });
    }
    for (const kind of ['compliance', 'capacity'] as const) {
      const chain = chainOf(kind);
      for (let a = 1; a <= chain.length; a++) {
        for (let b = a + 1; b <= chain.length; b++) {
          const [linkA, linkB] = [linkKey(kind, a), linkKey(kind, b)];
          mutations.push({ category: 'links swapped', kind, named: [linkA, linkB], apply: async () => { await put(linkA, originals.get(linkB)!); await put(linkB, originals.get(linkA)!); } });
          const [manA, manB] = [chain[a - 1]!.manifest.key, chain[b - 1]!.manifest.key];
          mutations.push({ category: 'manifests swapped', kind, named: [manA, manB], apply: async () => { await put(manA, originals.get(manB)!); await put(manB, originals.get(manA)!); } });
          for (const file of chain[a - 1]!.files) {
            const other = chain[b - 1]!.files.find((candidate) => candidate.name === file.name);
            if (other && !originals.get(file.key)!.equals(originals.get(other.key)!)) {
              mutations.push({ category: 'same-named report files swapped between generations', kind, named: [file.key, other.key], apply: async () => { await put(file.key, originals.get(other.key)!); await put(other.key, originals.get(file.key)!); } });
            }
          }
        }
        const key = linkKey(kind, a);
        const moved = linkKey(kind, chain.length + 1);
        mutations.push({ category: 'link renumbered (moved to the end)', kind, named: [key, moved], apply: async () => { await remove(key); await put(moved, originals.get(key)!); } });
        const manifest = chain[a - 1]!.manifest.key;
        mutations.push({ category: 'manifest re-serialized (same JSON, other bytes)', kind, named: [manifest], apply: () => put(manifest, Buffer.from(JSON.stringify(JSON.parse(originals.get(manifest)!.toString('utf8'))))) });
        const output = pick(chain[a - 1]!.files);
        mutations.push({ category: 'report file renamed in its folder', kind, named: [output.key], apply: async () => { await remove(output.key); await put(output.key.replace(/(\.[a-z]+)$/, '-final$1'), originals.get(output.key)!); } });
        // Re-signed: the manifest rewritten, its own hash recomputed into its link, but `previous` broken.
        const previousEdits: [string, (manifest: ReportManifest) => void][] = a === 1
          ? [['previous added to link 1', (m) => void (m.previous = { seq: 1, key: chain[1]!.manifest.key, sha256: '0'.repeat(64) })]]
          : [
              ['previous hash replaced', (m) => void (m.previous!.sha256 = sha256Hex(`forged ${a}`))],
              ['previous removed', (m) => void (m.previous = null)],
              ['previous seq changed', (m) => void (m.previous!.seq = a)],
              ...(a >= 3 ? [['previous points two links back, with that manifest\'s true hash', (m: ReportManifest) => void (m.previous = { seq: a - 1, key: chain[a - 3]!.manifest.key, sha256: sha256Hex(originals.get(chain[a - 3]!.manifest.key)!) })] as [string, (m: ReportManifest) => void]] : []),
            ];
        for (const [what, edit] of previousEdits) mutations.push({ category: `re-signed manifest, broken previous: ${what}`, kind, named: [manifest], apply: async () => void (await resign(kind, a, edit)) });
        // A forged report: one file changed, its hash and size recomputed into the manifest, the manifest's hash into the link.
        const forge = async () => {
          const target = pick(chain[a - 1]!.files);
          const bytes = flip(originals.get(target.key)!);
          await put(target.key, bytes);
          await resign(kind, a, (m) => void (m.outputs.find((o) => o.key === target.key)!.sha256 = sha256Hex(bytes)));
        };
        if (a < chain.length) mutations.push({ category: 're-signed forged report (caught by the next link\'s previous)', kind, named: [manifest], apply: forge });
        else mutations.push({ category: 're-signed forged head, anchored (--expect-head)', kind, named: ['--expect-head', 'expected head'], anchored: true, apply: forge });
        // Every link from here to the head re-signed in turn: only an anchor catches it.
        mutations.push({
          category: 're-signed chain from a link to the head, anchored (--expect-head)', kind, named: ['expected head'], anchored: true,
          apply: async () => {
            let previous = await resign(kind, a, (m) => void (m.generated_at = '2024-05-02T23:59:59.000Z'));
            for (let seq = a + 1; seq <= chain.length; seq++) previous = await resign(kind, seq, (m) => void (m.previous = { seq: seq - 1, key: previous.key, sha256: previous.sha256 }));
          },
        });
        mutations.push({ category: 'link pointed at another generation\'s manifest, with its true hash', kind, named: [key], apply: async () => {
          const other = chain[(a % chain.length)]!.manifest;
          await put(key, jsonBytes({ kind, seq: a, manifest_key: other.key, manifest_sha256: other.sha256 }));
        } });
      }
      const tail = chain.at(-1)!;
      mutations.push({ category: 'head link and its generation removed, anchored (--expect-head)', kind, named: ['expected head'], anchored: true, apply: async () => {
        await remove(linkKey(kind, chain.length));
        for (const key of keys.filter((candidate) => candidate.startsWith(tail.prefix))) await remove(key);
      } });
      mutations.push({ category: 'head link duplicated as the next number', kind, named: [linkKey(kind, chain.length + 1)], apply: () => put(linkKey(kind, chain.length + 1), originals.get(linkKey(kind, chain.length))!) });
      const extras = [`reports/${kind}/_chain/notes.txt`, `reports/${kind}/_chain/${String(chain.length + 1).padStart(7, '0')}.json`, `${chain[0]!.prefix}extra.csv`, `reports/${kind}/2024-05-01/${kind}-2024-05-01.html`];
      for (const extra of extras) mutations.push({ category: 'unexpected object added', kind, named: [extra], apply: () => put(extra, Buffer.from('{}\n')) });
      mutations.push({ category: 'a generation folder copied under another name', kind, named: [`reports/${kind}/2024-05-01/copy/`], apply: async () => {
        for (const key of keys.filter((candidate) => candidate.startsWith(chain[0]!.prefix))) await put(`reports/${kind}/2024-05-01/copy/${path.basename(key)}`, originals.get(key)!);
      } });
    }

    const verify = (kind: ReportKind, options: { inputs?: boolean; anchored?: boolean } = {}): Promise<ChainVerification> =>
      verifyReportChain(lake.store, { kind, ...(options.inputs ? { inputs: true } : {}), ...(options.anchored ? { expectHead: heads[kind] } : {}) });
    const intact = async () => {
      for (const kind of ['compliance', 'capacity'] as const) {
        const result = await verify(kind, { inputs: true, anchored: true });
        expect(result.problems, `${kind} chain after restoring`).toEqual([]);
      }
    };
    await intact();

    const tally = new Map<string, { tried: number; detected: number }>();
    const missed: string[] = [];
    let tried = 0;
    let intactChecks = 1;
    let verifyMs = 0;
    for (const mutation of mutations) {
      await mutation.apply();
      const changed = [...touched].some((key) => {
        const original = originals.get(key);
        return original === undefined ? true : !original.equals(readSync(key));
      });
      if (!changed) {
        await restore();
        continue;
      }
      tried++;
      const verifyStarted = performance.now();
      const result = await verify(mutation.kind, mutation);
      verifyMs += performance.now() - verifyStarted;
      const named = result.problems.some((problem) => mutation.named.some((needle) => problem.message.includes(needle)));
      const entry = tally.get(mutation.category) ?? { tried: 0, detected: 0 };
      entry.tried++;
      if (result.status === 'broken' && named) entry.detected++;
      else missed.push(`${mutation.category} [${mutation.named.join(', ')}]: ${result.status}; ${result.problems.map((p) => p.message).join(' | ')}`);
      tally.set(mutation.category, entry);
      await restore();
      if (tried % 100 === 0) {
        await intact();
        intactChecks++;
      }
    }
    await intact();
    intactChecks++;
    const detected = [...tally.values()].reduce((sum, entry) => sum + entry.detected, 0);
    const seconds = Math.round(performance.now() - started) / 1000;
    reportFigures('report-chain-mutations', { seed, files: keys.length, input_files: inputKeys.length, mutations: tried, detected, false_positives: 0, intact_checks: intactChecks, seconds, verify_ms_mean: Math.round((verifyMs / tried) * 10) / 10, by_category: Object.fromEntries(tally) });
    expect(missed).toEqual([]);
    expect(tried).toBeGreaterThanOrEqual(1000);
    expect(detected).toBe(tried);

    function readSync(key: string): Buffer {
      try {
        return readFileSync(path.join(lakeRoot, key));
      } catch {
        return Buffer.alloc(0);
      }
    }
  });

  test('the limit: whoever can write the store can rewrite the head unnoticed, unless its hash is anchored elsewhere', async () => {
    const kind = 'compliance';
    const tail = written[kind].at(-1)!;
    const json = tail.files.find((file) => file.name.endsWith('.json'))!;
    const originalJson = await read(json.key);
    const [originalManifest, originalLink] = [await read(tail.manifest.key), await read(tail.chain.link_key)];
    const forged = Buffer.from(originalJson.toString('utf8').replace(/"violations": \d+/, '"violations": 0'));
    expect(forged.equals(originalJson)).toBe(false);
    await writeFile(path.join(lakeRoot, json.key), forged);
    const manifest = JSON.parse(originalManifest.toString('utf8')) as ReportManifest;
    Object.assign(manifest.outputs.find((output) => output.key === json.key)!, { sha256: sha256Hex(forged), bytes: forged.length });
    const manifestBytes = jsonBytes(manifest);
    await writeFile(path.join(lakeRoot, tail.manifest.key), manifestBytes);
    await writeFile(path.join(lakeRoot, tail.chain.link_key), jsonBytes({ kind, seq: tail.chain.seq, manifest_key: tail.manifest.key, manifest_sha256: sha256Hex(manifestBytes) }));
    try {
      expect((await verifyReportChain(lake.store, { kind })).status).toBe('intact');
      const anchored = await verifyReportChain(lake.store, { kind, expectHead: tail.chain.manifest_sha256 });
      expect(anchored.status).toBe('broken');
      expect(anchored.problems.map((problem) => problem.kind)).toEqual(['head_mismatch']);
      expect(anchored.problems[0]!.message).toContain(`no manifest of the chain hashes to the expected head ${tail.chain.manifest_sha256}`);
    } finally {
      await writeFile(path.join(lakeRoot, json.key), originalJson);
      await writeFile(path.join(lakeRoot, tail.manifest.key), originalManifest);
      await writeFile(path.join(lakeRoot, tail.chain.link_key), originalLink);
    }
  });

  test('writers racing for the next link: each gets its own number, no fork', async () => {
    const report = JSON.parse((await read(written.capacity[0]!.files.find((file) => file.name.endsWith('.json'))!.key)).toString('utf8')) as CapacityReport;
    const period = parseReportPeriod('2024-05-01', '2024-05-01');
    const racers = await Promise.all(
      [1, 2, 3, 4].map((n) => writeReport({ store: lake.store, report: { ...report, generated_at: `2024-05-02T01:0${n}:00.000Z` }, period, formats: ['json', 'csv'] })),
    );
    expect(racers.map((racer) => racer.chain.seq).sort()).toEqual([3, 4, 5, 6]);
    racers.sort((a, b) => a.chain.seq - b.chain.seq);
    written.capacity.push(...racers);
    const result = await verifyReportChain(lake.store, { kind: 'capacity' });
    expect(result.problems).toEqual([]);
    expect(result.links).toBe(6);
  });

  test('netflow report and netflow report verify, as a user runs them', async () => {
    const run = (...args: string[]) => netflow(lake.dir, args);
    const fresh = await run('report', 'compliance', '--from', '2024-05-01T13', '--to', '2024-05-01T13', '--format', 'json,csv');
    expect(fresh.code, fresh.stderr).toBe(0);
    const [manifestKey, head] = fresh.stdout.trim().split('\n').at(-1)!.split('  ');
    expect(manifestKey).toMatch(/^reports\/compliance\/2024-05-01\/[^/]+\/_report-manifest\.json$/);
    const seq = written.compliance.length + 1;
    expect(fresh.stderr).toContain(`"chain_seq":${seq},"chain_head_sha256":"${head!.replace('sha256:', '')}"`);

    const all = await run('report', 'verify');
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.stdout).toContain(`compliance chain intact: head link ${seq}, sha256 ${head!.replace('sha256:', '')}`);
    expect(all.stdout).toContain(`capacity chain intact: head link ${written.capacity.length}`);
    expect(all.stdout).toContain('link │ period                      │ generated_at        │ files │ status │ problems');

    const anchored = await run('report', 'verify', '--kind', 'compliance', '--inputs', '--expect-head', head!.replace('sha256:', ''), '--format', 'json');
    expect(anchored.code, anchored.stderr).toBe(0);
    const result = JSON.parse(anchored.stdout) as ChainVerification;
    expect(result).toMatchObject({ kind: 'compliance', status: 'intact', links: seq, anchor: { seq, links_after: 0 } });
    expect(anchored.stderr).toContain('"msg":"report chain intact"');

    const csv = written.compliance[1]!.files.find((file) => file.name.endsWith('-rules.csv'))!;
    const original = await read(csv.key);
    const changed = Buffer.from(original);
    changed[10] = changed[10]! ^ 0x01;
    await writeFile(path.join(lakeRoot, csv.key), changed);
    try {
      const broken = await run('report', 'verify', '--kind', 'compliance');
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`changed: ${csv.key}: sha256 ${sha256Hex(changed)}, the manifest of link 2 says ${csv.sha256} (bytes changed)`);
      expect(broken.stdout).toContain('compliance chain BROKEN: 1 problem(s)');
      expect(broken.stderr).toContain('"msg":"report chain broken"');
    } finally {
      await writeFile(path.join(lakeRoot, csv.key), original);
    }
    const wrongHead = await run('report', 'verify', '--kind', 'capacity', '--expect-head', head!.replace('sha256:', ''));
    expect(wrongHead.code).toBe(1);
    expect(wrongHead.stdout).toContain('head_mismatch: reports/capacity/_chain/: no manifest of the chain hashes to the expected head');
  });
});

async function listFiles(root: string, prefix: string): Promise<string[]> {
  const entries = await readdir(path.join(root, prefix), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/')).sort();
}
