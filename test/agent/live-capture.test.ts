import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { requireTools } from '../support/require-tool.ts';
import { AgentProcess, scrapeMetrics } from './support/agent-process.ts';
import { readAgentObjects, sorted, sumByFlow } from './support/lake.ts';
import { freePort, referenceCapture, sendUdp, tcpExchange, tcpServer, udpServer } from './support/traffic.ts';
import { liveCapture, tshark } from './support/system-tools.ts';
import { flowKey, tsharkFlows } from './support/tshark-flows.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-live-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

requireTools(liveCapture, tshark).describe('live capture on loopback with the real tcpdump', () => {
  it('counts exactly what the test sent, survives a killed tcpdump, exports metrics, flushes on SIGTERM and exits 0', async () => {
    const u4 = await udpServer('udp4', '127.0.0.1');
    const u6 = await udpServer('udp6', '::1');
    const tcp = await tcpServer('127.0.0.1');
    const filter = `udp port ${u4.port} or udp port ${u6.port} or tcp port ${tcp.port}`;
    const metricsPort = await freePort();
    const out = path.join(work, 'lake');
    const spool = path.join(work, 'spool');
    const reference = path.join(work, 'reference.pcap');
    const ref = await referenceCapture('lo', filter, reference);
    const config = await writeConfig('capture:\n  stats_interval: 500ms\n  restart_initial: 200ms\n');
    const agent = new AgentProcess([
      '--config',
      config,
      '--vm-id',
      'vm-live',
      '--interface',
      'lo',
      '--filter',
      filter,
      '--interval',
      '1s',
      '--spool-dir',
      spool,
      '--out',
      out,
      '--metrics-port',
      String(metricsPort),
      '--log-level',
      'debug',
    ]);
    try {
      const started = await agent.waitForLog((l) => l.msg === 'capture started');
      const sizes4 = Array.from({ length: 40 }, (_, i) => 1 + i * 37);
      const sizes6 = Array.from({ length: 25 }, (_, i) => 3 + i * 101);
      const flow4 = await sendUdp('udp4', '127.0.0.1', u4.port, sizes4);
      const flow6 = await sendUdp('udp6', '::1', u6.port, sizes6);
      const tcpClientPort = await tcpExchange('127.0.0.1', tcp.port, 30_000);

      // tcpdump dies: the agent restarts it with backoff, logs and counts the gap. A killed tcpdump
      // loses the libpcap block it has not handed over yet (up to ~1 s), so the test waits first.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      process.kill(started.pid as number, 'SIGKILL');
      await agent.waitForLog((l) => l.msg === 'tcpdump exited');
      await agent.waitForLog((l) => l.msg === 'capture resumed after gap');
      const after = await sendUdp('udp4', '127.0.0.1', u4.port, [64, 64, 64]);

      // tcpdump's own counters, asked for with SIGUSR1 (which must not kill it: still one restart).
      const stats = await agent.waitForLog((l) => l.msg === 'tcpdump stats' && (l.captured as number) > 0);
      expect(stats.dropped_by_kernel).toBe(0);
      const metrics = await scrapeMetrics(metricsPort);
      expect(metrics.get('netflow_agent_capture_restarts_total')).toBe(1);
      expect(metrics.get('netflow_agent_capture_gap_seconds_total')).toBeGreaterThan(0);
      expect(metrics.has('netflow_agent_kernel_drops_total')).toBe(true);
      expect(metrics.has('netflow_agent_records_lost_total{reason="spool_full"}')).toBe(true);

      const exit = await agent.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      await ref.stop();
      expect(agent.logs.filter((l) => l.level === 'error' && l.msg !== 'tcpdump exited')).toEqual([]);

      const objects = await readAgentObjects(new LocalFolderStore(out));
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects) expect(o.key).toMatch(/^raw\/agent\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/vm=vm-live\/vm-live-\d{12}\.ndjson\.gz$/);
      const records = objects.flatMap((o) => o.records);
      const byFlow = sumByFlow(records);
      const counts = (key: string): [number, number] | undefined => {
        const f = byFlow.get(key);
        return f && [f.packets, f.bytes];
      };
      // Exactly what the test sent, per UDP flow.
      expect(counts(flowKey(17, '127.0.0.1', flow4.srcPort, '127.0.0.1', u4.port))).toEqual([flow4.packets, flow4.bytes]);
      expect(counts(flowKey(17, '::1', flow6.srcPort, '::1', u6.port))).toEqual([flow6.packets, flow6.bytes]);
      expect(counts(flowKey(17, '127.0.0.1', after.srcPort, '127.0.0.1', u4.port))).toEqual([after.packets, after.bytes]);
      expect(u4.received()).toBe(flow4.packets + after.packets);
      // TCP segmentation is the kernel's choice: compare with the independent capture instead.
      const tcpKey = flowKey(6, '127.0.0.1', tcpClientPort, '127.0.0.1', tcp.port);
      const expected = tsharkFlows(reference);
      expect(counts(tcpKey)).toEqual([expected.get(tcpKey)!.packets, expected.get(tcpKey)!.bytes]);
      expect(expected.get(tcpKey)!.bytes).toBeGreaterThan(30_000);
      // Every flow of the independent capture, and nothing else, when the gap's packets are left out.
      const gapless = sorted(expected).filter(([key]) => byFlow.has(key));
      expect(gapless.map(([k, v]) => [k, v.packets, v.bytes])).toEqual(sorted(byFlow).map(([k, v]) => [k, v.packets, v.bytes]));
      // Direction: loopback is a local address of this VM.
      for (const r of records) expect(r.direction).toBe('egress');
      expect(records.every((r) => r.interface_id === 'lo' && r.interval_s === 1 && r.vm_id === 'vm-live')).toBe(true);
      // Flushed and shipped: nothing left in the spool.
      expect(await readdir(path.join(spool, 'ready'))).toEqual([]);
      expect(await readdir(path.join(spool, 'open'))).toEqual([]);
    } finally {
      if (agent.child.exitCode === null) await agent.stop('SIGKILL');
      u4.close();
      u6.close();
      await tcp.close();
    }
  });
});

describe('the agent without tcpdump', () => {
  it('fails fast with exit code 1 when tcpdump is missing', async () => {
    const agent = new AgentProcess([
      '--vm-id',
      'v',
      '--spool-dir',
      path.join(work, 's2'),
      '--out',
      path.join(work, 'l2'),
      '--metrics-port',
      '0',
      '--config',
      await writeConfig('capture:\n  tcpdump_path: /nonexistent/tcpdump\n'),
    ]);
    expect(await agent.exited).toEqual({ code: 1, signal: null });
    expect(agent.logs.some((l) => l.msg === 'tcpdump is not usable')).toBe(true);
  });
});

async function writeConfig(text: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const file = path.join(work, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return file;
}
