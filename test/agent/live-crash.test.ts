import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { AgentProcess } from './support/agent-process.ts';
import { readAgentObjects, sumByFlow } from './support/lake.ts';
import { liveCapture } from './support/system-tools.ts';
import { sendUdp, udpServer, type SentFlow } from './support/traffic.ts';
import { flowKey } from './support/tshark-flows.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-live-crash-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

liveCapture.describe('crash safety of a live agent', () => {
  it('kill -9 during spool writes, seals and uploads: what was written is shipped exactly once after restart', async () => {
    const receiver = await udpServer('udp4', '127.0.0.1');
    const config = path.join(work, 'agent.yaml');
    await writeFile(config, ['interval: 1s', 'spool:', '  segment_max_age: 1s', '  segment_max_size: 4KiB', 'shipper:', '  retry_initial: 100ms', ''].join('\n'));
    const args = [
      '--config',
      config,
      '--vm-id',
      'vm-live-crash',
      '--interface',
      'lo',
      '--filter',
      `udp port ${receiver.port}`,
      '--spool-dir',
      path.join(work, 'spool'),
      '--out',
      path.join(work, 'lake'),
      '--metrics-port',
      '0',
      '--log-level',
      'debug',
    ];
    const settled: SentFlow[] = [];
    const inFlight: SentFlow[] = [];
    // (Kills right after a batch write are the replay crash test's; here: closing and uploading.)
    const triggers = ['spool segment sealed', 'upload started'];
    // Every agent started after a kill: whether one of them found the spool left behind.
    const restarted: AgentProcess[] = [];
    try {
      for (const trigger of triggers) {
        const agent = new AgentProcess(args);
        if (settled.length > 0) restarted.push(agent);
        const started = await agent.waitForLog((l) => l.msg === 'capture started');
        // A burst that is certainly written before the kill: one interval plus the 2 s close grace.
        settled.push(
          await sendUdp(
            'udp4',
            '127.0.0.1',
            receiver.port,
            Array.from({ length: 30 }, (_, i) => 40 + i),
          ),
        );
        await sleep(3_300);
        // Another burst, and the kill as soon as the agent writes, closes or uploads something.
        const marker = agent.logs.length;
        inFlight.push(
          await sendUdp(
            'udp4',
            '127.0.0.1',
            receiver.port,
            Array.from({ length: 30 }, (_, i) => 400 + i),
          ),
        );
        await agent.waitForLog((l) => l.msg === trigger && agent.logs.indexOf(l) >= marker, 10_000);
        await agent.stop('SIGKILL');
        // A killed agent's tcpdump would only notice at its next write; a supervisor kills it with the group.
        process.kill(started.pid as number, 'SIGKILL');
      }
      const final = new AgentProcess(args);
      restarted.push(final);
      await final.waitForLog((l) => l.msg === 'capture started');
      expect(await final.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      // A kill at 'upload started' may land after that upload finished, leaving the final agent
      // nothing to resume; the agent after the kill at a seal finds that segment.
      const resumed = restarted.flatMap((agent) => agent.logs).filter((l) => l.msg === 'spool has segments to upload' || l.msg === 'spool resumed open segment');
      expect(resumed.length).toBeGreaterThan(0);

      const objects = await readAgentObjects(new LocalFolderStore(path.join(work, 'lake')));
      const byFlow = sumByFlow(objects.flatMap((o) => o.records));
      const counts = (f: SentFlow): [number, number] => {
        const got = byFlow.get(flowKey(17, '127.0.0.1', f.srcPort, '127.0.0.1', receiver.port));
        return [got?.packets ?? 0, got?.bytes ?? 0];
      };
      // Written before the kill: exactly once.
      for (const f of settled) expect(counts(f)).toEqual([f.packets, f.bytes]);
      // Counted in memory when the kill came: whatever had been committed, never more than was sent.
      for (const f of inFlight) expect(counts(f)[0]).toBeLessThanOrEqual(f.packets);
      expect(await readdir(path.join(work, 'spool', 'ready'))).toEqual([]);
      process.stdout.write(
        `[live-crash] kills=${triggers.length} settled bursts exact=${settled
          .map(counts)
          .map(([p]) => p)
          .join(',')} ` +
          `in-flight bursts kept=${inFlight
            .map(counts)
            .map(([p]) => p)
            .join(',')} of ${inFlight.map((f) => f.packets).join(',')} objects=${objects.length}\n`,
      );
    } finally {
      receiver.close();
    }
  });
});
