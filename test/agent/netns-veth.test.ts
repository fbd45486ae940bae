import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { requireTools } from '../support/require-tool.ts';
import { AgentProcess } from './support/agent-process.ts';
import { readAgentObjects } from './support/lake.ts';
import { networkNamespaces, tcpdump } from './support/system-tools.ts';

/** Two throw-away namespaces joined by a veth pair; every address used is inside them. */
const A = `nfa${process.pid}`;
const B = `nfb${process.pid}`;
const VETH_A = `nfva${process.pid}`.slice(0, 15);
const VETH_B = `nfvb${process.pid}`.slice(0, 15);
const ADDR = { a4: '10.214.0.1', b4: '10.214.0.2', a6: 'fd00:214::1', b6: 'fd00:214::2' };

const betweenNamespaces = requireTools(networkNamespaces, tcpdump);
let work: string;

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
}

function cleanup(): void {
  spawnSync('ip', ['netns', 'del', A]);
  spawnSync('ip', ['netns', 'del', B]);
}

beforeAll(async () => {
  if (!betweenNamespaces.available) return;
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-netns-'));
  cleanup();
  ip('netns', 'add', A);
  ip('netns', 'add', B);
  ip('link', 'add', VETH_A, 'type', 'veth', 'peer', 'name', VETH_B);
  ip('link', 'set', VETH_A, 'netns', A);
  ip('link', 'set', VETH_B, 'netns', B);
  ip('-n', A, 'addr', 'add', `${ADDR.a4}/24`, 'dev', VETH_A);
  ip('-n', B, 'addr', 'add', `${ADDR.b4}/24`, 'dev', VETH_B);
  ip('-n', A, 'addr', 'add', `${ADDR.a6}/64`, 'dev', VETH_A, 'nodad');
  ip('-n', B, 'addr', 'add', `${ADDR.b6}/64`, 'dev', VETH_B, 'nodad');
  ip('-n', A, 'link', 'set', VETH_A, 'up');
  ip('-n', B, 'link', 'set', VETH_B, 'up');
  ip('-n', A, 'link', 'set', 'lo', 'up');
});
afterAll(async () => {
  if (!betweenNamespaces.available) return;
  cleanup(); // deleting a namespace removes its end of the veth pair, and so the pair
  await rm(work, { recursive: true, force: true });
});

/** Runs a small Node program inside a namespace; resolves with its stdout lines when it exits. */
function inNetns(ns: string, program: string, onLine?: (line: string) => void): { child: ChildProcess; done: Promise<string[]> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine?.(line);
  });
  const done = new Promise<string[]>((resolve, reject) => child.on('exit', (code) => (code === 0 || child.killed ? resolve(lines) : reject(new Error(`netns program failed (${code}): ${stderr}`)))));
  return { child, done };
}

const ECHO = `
import dgram from 'node:dgram';
for (const [type, host] of [['udp4', '${ADDR.a4}'], ['udp6', '${ADDR.a6}']]) {
  const s = dgram.createSocket(type);
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(7007, host, () => console.log('ready ' + type));
}`;

const SEND = (sizes: number[]) => `
import dgram from 'node:dgram';
import { once } from 'node:events';
for (const [type, host] of [['udp4', '${ADDR.a4}'], ['udp6', '${ADDR.a6}']]) {
  const s = dgram.createSocket(type);
  let echoed = 0;
  s.on('message', () => echoed++);
  s.bind(0);
  await once(s, 'listening');
  for (const size of ${JSON.stringify(sizes)}) {
    await new Promise((r) => s.send(Buffer.alloc(size, 1), 7007, host, r));
    const until = Date.now() + 2000;
    while (echoed < ${JSON.stringify(sizes)}.indexOf(size) + 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
  }
  console.log(JSON.stringify({ type, port: s.address().port, echoed }));
  s.close();
}`;

betweenNamespaces.describe('live capture between two network namespaces (veth)', () => {
  it("direction from the namespace's own addresses, exact counts both ways", async () => {
    const out = path.join(work, 'lake');
    let readyCount = 0;
    let echoReady!: () => void;
    const ready = new Promise<void>((resolve) => (echoReady = resolve));
    const echo = inNetns(A, ECHO, (line) => {
      if (line.startsWith('ready') && ++readyCount === 2) echoReady();
    });
    const agent = new AgentProcess(
      ['--vm-id', 'vm-netns', '--interface', VETH_A, '--filter', 'udp port 7007', '--interval', '1s', '--spool-dir', path.join(work, 'spool'), '--out', out, '--metrics-port', '0'],
      { netns: A },
    );
    try {
      await ready;
      await agent.waitForLog((l) => l.msg === 'capture started');
      const sizes = [1, 50, 500, 1000, 1400, 20, 300];
      const sent = (await inNetns(B, SEND(sizes)).done).map((l) => JSON.parse(l) as { type: string; port: number; echoed: number });
      expect(sent.map((s) => s.echoed)).toEqual([sizes.length, sizes.length]);
      expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });

      const records = (await readAgentObjects(new LocalFolderStore(out))).flatMap((o) => o.records);
      const sum = (src: string, dst: string) => {
        const rs = records.filter((r) => r.src_ip === src && r.dst_ip === dst && r.protocol === 17);
        return { packets: rs.reduce((a, r) => a + r.packets, 0), bytes: rs.reduce((a, r) => a + r.bytes, 0), directions: [...new Set(rs.map((r) => r.direction))] };
      };
      const v4Bytes = sizes.reduce((a, s) => a + s + 28, 0);
      const v6Bytes = sizes.reduce((a, s) => a + s + 48, 0);
      expect(sum(ADDR.b4, ADDR.a4)).toEqual({ packets: sizes.length, bytes: v4Bytes, directions: ['ingress'] });
      expect(sum(ADDR.a4, ADDR.b4)).toEqual({ packets: sizes.length, bytes: v4Bytes, directions: ['egress'] });
      expect(sum(ADDR.b6, ADDR.a6)).toEqual({ packets: sizes.length, bytes: v6Bytes, directions: ['ingress'] });
      expect(sum(ADDR.a6, ADDR.b6)).toEqual({ packets: sizes.length, bytes: v6Bytes, directions: ['egress'] });
      const ports = new Set(records.map((r) => (r.direction === 'ingress' ? r.src_port : r.dst_port)));
      expect([...ports].sort()).toEqual(sent.map((s) => s.port).sort());
    } finally {
      if (agent.child.exitCode === null) await agent.stop('SIGKILL');
      echo.child.kill();
      await echo.done.catch(() => undefined);
    }
  });
});
