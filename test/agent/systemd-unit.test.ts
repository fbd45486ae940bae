import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { requireTool, requireTools } from '../support/require-tool.ts';
import { AgentProcess } from './support/agent-process.ts';
import { readAgentObjects } from './support/lake.ts';
import { liveCapture, setpriv } from './support/system-tools.ts';
import { sendUdp, udpServer } from './support/traffic.ts';

const UNIT = path.resolve(import.meta.dirname, '../../deploy/systemd/netflow-agent.service');
/** The unprivileged run needs `nobody` to be able to read the checkout (not so under a 0700 home). */
const checkoutReadableByNobody = requireTool('a checkout readable by nobody (uid 65534)', 'clone outside a 0700 home directory', () => {
  if (process.getuid?.() !== 0 || !setpriv.available) return true; // what is reported then is the missing root or setpriv
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path.resolve(import.meta.dirname, '../../node_modules/tsx/package.json')]);
  if (probe.error) return probe.error.message;
  return probe.status === 0 ? true : 'test -r as nobody failed';
});
const unprivilegedCapture = requireTools(liveCapture, setpriv, checkoutReadableByNobody);
let unit: Map<string, string>;
let work: string;

beforeAll(async () => {
  unit = new Map();
  for (const line of (await readFile(UNIT, 'utf8')).split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) unit.set(match[1]!, match[2]!);
  }
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-unit-'));
  await chmod(work, 0o777);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('systemd unit', () => {
  it('runs the agent as a non-root user with only the capabilities tcpdump needs', () => {
    expect(unit.get('User')).toBe('netflow-agent');
    expect(unit.get('AmbientCapabilities')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(unit.get('CapabilityBoundingSet')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(unit.get('NoNewPrivileges')).toBe('yes');
    expect(unit.get('ExecStart')).toMatch(/bin\/netflow-agent\.mjs --config \/etc\/netflow-agent\/agent\.yaml$/);
    expect(unit.get('KillSignal')).toBe('SIGTERM');
    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    if (!verify.error) expect(verify.stderr.split('\n').filter((l) => l.includes('netflow-agent.service'))).toEqual([]);
  });

  unprivilegedCapture.it("captures as an unprivileged user holding only the unit's capabilities (setpriv)", async () => {
    const caps = unit
      .get('AmbientCapabilities')!
      .split(' ')
      .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)
      .join(',');
    const receiver = await udpServer('udp4', '127.0.0.1');
    const out = path.join(work, 'lake');
    // setpriv lives in util-linux (always present on Debian); `nobody` stands in for netflow-agent.
    const agent = new AgentProcess(
      ['--vm-id', 'vm-unprivileged', '--interface', 'lo', '--filter', `udp port ${receiver.port}`, '--spool-dir', path.join(work, 'spool'), '--out', out, '--metrics-port', '0', '--interval', '1s'],
      { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`, `--bounding-set=-all,${caps}`] },
    );
    try {
      await agent.waitForLog((l) => l.msg === 'capture started');
      const sent = await sendUdp('udp4', '127.0.0.1', receiver.port, [10, 20, 30]);
      expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      const records = (await readAgentObjects(new LocalFolderStore(out))).flatMap((o) => o.records);
      expect(records.map((r) => [r.src_port, r.packets, r.bytes])).toEqual([[sent.srcPort, 3, sent.bytes]]);
    } finally {
      if (agent.child.exitCode === null) await agent.stop('SIGKILL');
      receiver.close();
    }
  });
});
