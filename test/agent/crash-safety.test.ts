import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { AgentProcess, type LogLine } from './support/agent-process.ts';
import { readAgentObjects, sumByFlow } from './support/lake.ts';
import { writeSyntheticCapture, type SyntheticTruth } from './support/synthetic-capture.ts';

/** At least this many kill -9s; NETFLOW_AGENT_CRASH_KILLS raises it for a longer soak. */
const KILLS = Math.max(20, Number(process.env.NETFLOW_AGENT_CRASH_KILLS ?? 20));

let work: string;
let capture: string;
let truth: SyntheticTruth;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-crash-'));
  capture = path.join(work, 'generated.pcap');
  // 100 s of packet time in 1 s intervals (crossing an hour): 100 commit points, each flushing 200 flows.
  truth = await writeSyntheticCapture(capture, { flows: 200, packets: 100_000, startUs: Date.UTC(2026, 0, 1, 10, 59, 10) * 1000, durationUs: 100_000_000 });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// 20+ agent restarts: about 30 s on an idle 2-core machine, far more when it is shared.
describe('crash safety', { timeout: 300_000 }, () => {
  it(`kill -9 at random points during spool writes and uploads (up to ${KILLS} times, at least 20): every packet is in the store exactly once`, async () => {
    const out = path.join(work, 'lake');
    const spool = path.join(work, 'spool');
    const config = path.join(work, 'agent.yaml');
    // Small segments so that batches, seals and uploads interleave; slow replay so kills land mid-run.
    await writeFile(
      config,
      ['spool:', '  segment_max_size: 24KiB', '  segment_max_age: 1s', '  max_disk_size: 64MiB', 'replay:', '  max_pps: 12000', 'shipper:', '  retry_initial: 100ms', ''].join('\n'),
    );
    const args = ['--config', config, '--pcap', capture, '--vm-id', 'vm-crash', '--out', out, '--spool-dir', spool, '--interval', '1s', '--log-level', 'debug'];
    const triggers: Record<string, (l: LogLine) => boolean> = {
      'after a spool batch write': (l) => l.msg === 'spool batch written',
      'after a segment seal': (l) => l.msg === 'spool segment sealed',
      'during an upload': (l) => l.msg === 'upload started',
      'at a random time': (l) => l.msg === 'replay started',
    };
    const names = Object.keys(triggers);
    const kills: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    let runs = 0;
    let resumedRuns = 0;
    for (let killed = 0; killed < KILLS;) {
      const agent = new AgentProcess(args);
      runs++;
      const name = names[killed % names.length]!;
      // Skip 0-3 matching events so that kills spread over the run, then add up to 30 ms of jitter.
      const skip = name === 'at a random time' ? 0 : Math.floor(random() * 4);
      let seen = 0;
      const trigger = await agent
        .waitForLog((l) => triggers[name]!(l) && seen++ >= skip, 20_000)
        .then(() => true)
        .catch(() => false);
      if (!trigger) {
        // The run finished before the trigger: the replay is complete, so stop killing.
        await agent.exited;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, name === 'at a random time' ? 50 + random() * 550 : random() * 30));
      if (agent.child.exitCode !== null) break;
      await agent.stop('SIGKILL');
      if (agent.logs.some((l) => l.msg === 'replay resumes after committed packets' || l.msg === 'spool resumed open segment')) resumedRuns++;
      kills[name]!++;
      killed++;
    }
    const final = new AgentProcess(args);
    runs++;
    expect(await final.exited).toEqual({ code: 0, signal: null });
    const summary = JSON.parse(final.stdout.at(-1)!) as { complete: boolean; segmentsPending: number };
    expect(summary).toMatchObject({ complete: true, segmentsPending: 0 });

    const objects = await readAgentObjects(new LocalFolderStore(out));
    const records = objects.flatMap((o) => o.records);
    const byFlow = sumByFlow(records);
    const packets = records.reduce((sum, r) => sum + r.packets, 0);
    const totalKills = Object.values(kills).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `[crash-safety] kills=${totalKills} ${JSON.stringify(kills)} runs=${runs} resumed_runs=${resumedRuns} ` +
        `objects=${objects.length} records=${records.length} packets_in_store=${packets} packets_generated=${truth.packets} flows=${byFlow.size}\n`,
    );
    expect(totalKills).toBeGreaterThanOrEqual(20);
    expect(packets).toBe(truth.packets);
    expect(byFlow.size).toBe(truth.flows.size);
    for (const [key, expected] of truth.flows) {
      const got = byFlow.get(key);
      expect([key, got?.packets, got?.bytes]).toEqual([key, expected.packets, expected.bytes]);
    }
    // Keys are unique per segment sequence number: no sequence shipped under two keys.
    const seqs = objects.map((o) => /-(\d{12})\.ndjson\.gz$/.exec(o.key)![1]);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(await readdir(path.join(spool, 'ready'))).toEqual([]);
    expect(await readdir(path.join(spool, 'open'))).toEqual([]);
  });
});
