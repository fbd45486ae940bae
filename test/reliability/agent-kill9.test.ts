import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { AgentProcess, type LogLine } from '../agent/support/agent-process.ts';
import { readAgentObjects, sumByFlow } from '../agent/support/lake.ts';
import { writeSyntheticCapture, type SyntheticTruth } from '../agent/support/synthetic-capture.ts';
import { count, randomInt, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suite 5 of issue 8: the real agent (bin/netflow-agent.mjs) replaying steady generated traffic
 * is killed with SIGKILL at random points (after spool batch writes, after seals, during uploads,
 * at random times) and restarted each time. Records acknowledged to the spool are never lost and
 * never counted twice; re-sends overwrite their own key. Then spool files are damaged at random
 * between runs: the agent quarantines what it cannot trust and runs on, never crash-looping.
 */
const seed = suiteSeed();
const KILLS = count(200, 4);

let work: string;
let capture: string;
let truth: SyntheticTruth;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-kill9-'));
  capture = path.join(work, 'generated.pcap');
  // About 0.6 s of replay per killed run at 4,000 packets/s, plus the final run.
  const packets = count(600_000, 40_000);
  truth = await writeSyntheticCapture(capture, { flows: 300, packets, startUs: Date.UTC(2026, 0, 1, 10, 58, 0) * 1000, durationUs: (packets / 1000) * 1_000_000 });
}, 120_000);
afterAll(() => rm(work, { recursive: true, force: true }));

function agentArgs(name: string, _pps: number): { args: string[]; out: string; spool: string } {
  const dir = path.join(work, name);
  const out = path.join(dir, 'lake');
  const spool = path.join(dir, 'spool');
  const config = path.join(work, `${name}.yaml`);
  const args = ['--config', config, '--pcap', capture, '--vm-id', `vm-${name}`, '--out', out, '--spool-dir', spool, '--interval', '1s', '--log-level', 'debug'];
  return { args, out, spool };
}

/**
 * The same agent arguments with the replay unthrottled: for the run that drains a spool after the
 * kills. The pace only matters while the agent is being killed; at 3,000-4,000 packets/s the rest
 * of the capture took most of the reduced suite's time (and ~75 s per full epoch).
 */
async function drainArgs(args: string[], name: string): Promise<string[]> {
  await writeAgentConfig(`${name}-drain`, 0);
  return args.map((arg, index) => (index === 1 ? path.join(work, `${name}-drain.yaml`) : arg));
}

async function writeAgentConfig(name: string, pps: number): Promise<void> {
  await writeFile(
    path.join(work, `${name}.yaml`),
    ['spool:', '  segment_max_size: 24KiB', '  segment_max_age: 1s', '  max_disk_size: 256MiB', 'replay:', `  max_pps: ${pps}`, 'shipper:', '  retry_initial: 100ms', ''].join('\n'),
  );
}

const TRIGGERS: Record<string, (l: LogLine) => boolean> = {
  'after a spool batch write': (l) => l.msg === 'spool batch written',
  'after a segment seal': (l) => l.msg === 'spool segment sealed',
  'during an upload': (l) => l.msg === 'upload started',
  'after an upload acknowledged': (l) => l.msg === 'upload acknowledged',
  'at a random time': (l) => l.msg === 'replay started',
};

/**
 * How long an agent may take to come up or to reach a trigger. Niced on a shared machine under
 * load, an agent's start alone took over 30 s (the former limit): the start was then taken for a
 * crash and its replay for finished.
 */
const AGENT_WAIT_MS = 180_000;
const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(resolve, ms, undefined));

/** Starts the agent, waits for a trigger (skipping a random number of matches), waits a random delay, kills it. */
async function killOnce(args: string[], trigger: string, random: () => number): Promise<'killed' | 'finished'> {
  const agent = new AgentProcess(args);
  const skip = trigger === 'at a random time' ? 0 : randomInt(random, 6);
  let seen = 0;
  const hit = await agent
    .waitForLog((l) => TRIGGERS[trigger]!(l) && seen++ >= skip, AGENT_WAIT_MS)
    .then(() => true)
    .catch(() => false);
  if (!hit) {
    // The replay completed first. With working uploads the agent ships its spool and exits 0;
    // with uploads blocked (the damage rounds) it would keep draining for a day, so it is stopped.
    const exit = await Promise.race([agent.exited, sleep(30_000)]);
    if (exit === undefined) {
      await agent.stop('SIGKILL');
      return 'finished';
    }
    if (exit.code !== 0)
      throw new Error(
        `agent exited with ${JSON.stringify(exit)} before a kill: ${agent.logs
          .slice(-5)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
    return 'finished';
  }
  await new Promise((resolve) => setTimeout(resolve, trigger === 'at a random time' ? 50 + random() * 900 : random() * 40));
  if (agent.child.exitCode !== null) return 'finished';
  await agent.stop('SIGKILL');
  return 'killed';
}

/** Identity of a record's content: a re-sent record is identical, so duplicates are removable by it. */
const recordKey = (r: object) => createHash('sha256').update(JSON.stringify(r)).digest('hex');

describe('agent: kill -9 under steady traffic', () => {
  it(
    `${KILLS} SIGKILLs: acknowledged records lost 0, counted twice 0`,
    async () => {
      const random = seededRandom(seed);
      await writeAgentConfig('kills', 4000);
      const names = Object.keys(TRIGGERS);
      const kills: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
      let killed = 0;
      let runs = 0;
      let epochs = 0;
      const totals = { objects: 0, records: 0, packetsLost: 0, duplicates: 0, flowsWrong: 0, seqReused: 0 };
      const started = Date.now();
      // An epoch replays the whole capture into a fresh spool and lake, killing the agent until the
      // replay completes; each epoch is checked exactly against the capture's truth. Epochs repeat
      // until the kill count is reached, so the count does not depend on how fast the machine is.
      while (killed < KILLS) {
        const { args, out, spool } = agentArgs(`kills-${epochs}`, 4000);
        args[1] = path.join(work, 'kills.yaml');
        epochs++;
        while (killed < KILLS) {
          const trigger = names[killed % names.length]!;
          runs++;
          if ((await killOnce(args, trigger, random)) === 'finished') break;
          kills[trigger]!++;
          killed++;
        }
        const final = new AgentProcess(await drainArgs(args, 'kills'));
        runs++;
        expect(await final.exited).toEqual({ code: 0, signal: null });
        expect(JSON.parse(final.stdout.at(-1)!)).toMatchObject({ complete: true, segmentsPending: 0 });
        const objects = await readAgentObjects(new LocalFolderStore(out));
        const records = objects.flatMap((o) => o.records);
        const byFlow = sumByFlow(records);
        totals.objects += objects.length;
        totals.records += records.length;
        totals.packetsLost += truth.packets - records.reduce((sum, r) => sum + r.packets, 0);
        totals.duplicates += records.length - new Set(records.map(recordKey)).size;
        for (const [key, expected] of truth.flows) {
          const got = byFlow.get(key);
          if (got?.packets !== expected.packets || got.bytes !== expected.bytes) totals.flowsWrong++;
        }
        const seqs = objects.map((o) => /-(\d{12})\.ndjson\.gz$/.exec(o.key)![1]);
        totals.seqReused += seqs.length - new Set(seqs).size;
        expect(await readdir(path.join(spool, 'ready'))).toEqual([]);
      }
      reportFigures('agent-kill9/kills', {
        seed,
        kills: killed,
        by_trigger: kills,
        epochs,
        runs,
        objects: totals.objects,
        records: totals.records,
        packets_generated_per_epoch: truth.packets,
        packets_lost: totals.packetsLost,
        duplicate_records: totals.duplicates,
        flows_per_epoch: truth.flows.size,
        flows_wrong: totals.flowsWrong,
        sequence_numbers_reused: totals.seqReused,
        elapsed_s: Math.round((Date.now() - started) / 1000),
      });
      expect(killed).toBe(KILLS);
      expect(totals.packetsLost).toBe(0);
      expect(totals.flowsWrong).toBe(0);
      expect(totals.duplicates).toBe(0);
      expect(totals.seqReused).toBe(0);
    },
    3 * 3600_000,
  );
});

describe('agent: damaged spool files are quarantined, never crash-loop the agent', () => {
  it('truncations and bit flips of closed segments, open segments, commit files and state.json', async () => {
    const random = seededRandom(seed ^ 0x5eed);
    const rounds = count(60, 4);
    // Uploads go to a store path that is a file, so they fail and closed segments stay in ready/ to be damaged.
    await writeAgentConfig('damage', 3000);
    const { args, out, spool } = agentArgs('damage', 3000);
    const blocked = args.map((a) => (a === out ? path.join(work, 'damage', 'not-a-folder') : a));
    await mkdir(path.join(work, 'damage'), { recursive: true });
    await writeFile(path.join(work, 'damage', 'not-a-folder'), '');
    const damaged: { file: string; how: string; kind: string }[] = [];
    /** Content before damage of each closed segment, by file name: what it held if it is shipped anyway. */
    const originals = new Map<string, string>();
    let failedStarts = 0;
    let roundsDone = 0;
    for (let round = 0; round < rounds; round++) {
      // Killed after a seal, closed segments wait in ready/; after a batch write, an open segment and its commit file exist.
      const kind = ['closed segment', 'open segment', 'commit file', 'state.json'][round % 4]!;
      const trigger = kind === 'open segment' || kind === 'commit file' ? 'after a spool batch write' : 'after a segment seal';
      if ((await killOnce(blocked, trigger, random)) === 'finished') break;
      const candidates: { file: string; kind: string }[] = [];
      for (const name of await readdir(path.join(spool, 'ready'))) candidates.push({ file: path.join(spool, 'ready', name), kind: 'closed segment' });
      for (const name of await readdir(path.join(spool, 'open'))) candidates.push({ file: path.join(spool, 'open', name), kind: name.endsWith('.commit') ? 'commit file' : 'open segment' });
      candidates.push({ file: path.join(spool, 'state.json'), kind: 'state.json' });
      // Rotate over the kinds so that each is damaged, then pick one file of that kind at random.
      const kinds = ['closed segment', 'open segment', 'commit file', 'state.json'];
      const wanted = candidates.filter((c) => c.kind === kinds[round % kinds.length]);
      const pool = wanted.length > 0 ? wanted : candidates;
      const target = pool[randomInt(random, pool.length)];
      if (!target) continue;
      const size = (await stat(target.file)).size;
      if (target.kind === 'closed segment' && !originals.has(path.basename(target.file))) {
        // A segment damaged in an earlier round and not yet quarantined has no readable original.
        try {
          originals.set(path.basename(target.file), gunzipSync(await readFile(target.file)).toString('utf8'));
        } catch {
          originals.set(path.basename(target.file), '(already damaged)');
        }
      }
      if (random() < 0.5 || size === 0) {
        const at = randomInt(random, Math.max(1, size));
        await truncate(target.file, at);
        damaged.push({ file: target.file, kind: target.kind, how: `truncated to ${at} of ${size} bytes` });
      } else {
        const at = randomInt(random, size);
        const handle = await open(target.file, 'r+');
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, at);
        byte[0]! ^= 1 << randomInt(random, 8);
        await handle.write(byte, 0, 1, at);
        await handle.close();
        damaged.push({ file: target.file, kind: target.kind, how: `bit flipped at ${at} of ${size}` });
      }
      // The very next start must come up (no crash loop): it logs that replay started or resumed.
      const probe = new AgentProcess(blocked);
      const up = await probe
        .waitForLog((l) => l.msg === 'replay started' || l.msg === 'replay resumes after committed packets', AGENT_WAIT_MS)
        .then(
          () => true,
          () => false,
        );
      // Not up in time: crashed (exited non-zero) or hung; either is a failed start.
      if (!up && (await Promise.race([probe.exited, sleep(1000)]))?.code !== 0) failedStarts++;
      if (probe.child.exitCode === null) await probe.stop('SIGKILL');
      roundsDone++;
    }
    // Unblock uploads and run to the end.
    const final = new AgentProcess(await drainArgs(args, 'damage'));
    const exit = await final.exited;
    const quarantineDir = path.join(spool, 'quarantine');
    const quarantined = (await readdir(quarantineDir).catch(() => [] as string[])).filter((n) => !n.endsWith('.reason.json'));
    const logsQuarantined = final.logs.filter((l) => l.msg === 'spool file quarantined').length;
    // What was shipped: every line either a valid record or a line the lake will quarantine (a flipped byte inside a record).
    const store = new LocalFolderStore(out);
    let shipped = 0;
    let badLines = 0;
    const unreadableObjects: string[] = [];
    const shippedBySeq = new Map<string, string>();
    const malformedKeys: string[] = [];
    for await (const info of store.list('raw/agent/')) {
      const body = (await store.getBytes(info.key))!;
      let text: string;
      try {
        text = gunzipSync(body).toString('utf8');
      } catch {
        unreadableObjects.push(info.key);
        continue;
      }
      // Keys are numbered by the spool; a damaged state.json once made them `…-000000000NaN`.
      const seq = /-(\d{12})\.ndjson\.gz$/.exec(info.key)?.[1];
      if (!seq) {
        malformedKeys.push(info.key);
        continue;
      }
      shippedBySeq.set(seq, text);
      for (const line of text.split('\n').filter(Boolean)) {
        try {
          JSON.parse(line);
          shipped++;
        } catch {
          badLines++;
        }
      }
    }
    // Each damaged closed segment: quarantined, or shipped with exactly its original content (a
    // flipped bit in a gzip header field outside the CRC, such as the modification time).
    let closedQuarantined = 0;
    let closedShippedIntact = 0;
    let closedSilentlyChanged = 0;
    for (const d of damaged.filter((x) => x.kind === 'closed segment')) {
      const name = path.basename(d.file);
      if (quarantined.some((q) => q.endsWith(name))) closedQuarantined++;
      else if (shippedBySeq.get(name.slice(0, 12)) === originals.get(name)) closedShippedIntact++;
      else closedSilentlyChanged++;
    }
    reportFigures('agent-kill9/damaged-spool', {
      seed,
      rounds,
      rounds_done: roundsDone,
      damaged: damaged.length,
      by_kind: damaged.reduce<Record<string, number>>((acc, d) => ((acc[d.kind] = (acc[d.kind] ?? 0) + 1), acc), {}),
      quarantined_files: quarantined.length,
      failed_starts: failedStarts,
      final_exit: exit,
      shipped_records: shipped,
      shipped_bad_lines: badLines,
      unreadable_objects_shipped: unreadableObjects.length,
      malformed_keys: malformedKeys.length,
      closed_quarantined: closedQuarantined,
      closed_shipped_intact: closedShippedIntact,
      closed_silently_changed: closedSilentlyChanged,
      quarantine_logs: logsQuarantined,
    });
    // Every round ran: the capture lasts (a damaged state.json restarts the replay), so none is skipped.
    expect(roundsDone).toBe(rounds);
    expect(closedSilentlyChanged).toBe(0);
    expect(failedStarts).toBe(0);
    expect(exit).toEqual({ code: 0, signal: null });
    // A damaged closed segment is never shipped as an unreadable object.
    expect(unreadableObjects).toEqual([]);
    expect(malformedKeys).toEqual([]);
    expect(await readdir(path.join(spool, 'ready'))).toEqual([]);
  }, 3600_000);
});
