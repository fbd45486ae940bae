import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/cli.ts';
import { ConfigError, loadAgentConfig } from '../../agent/load-config.ts';
import { parseTcpdumpStats } from '../../agent/capture/tcpdump-stats.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netflow-agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  const f = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(f, text);
  return f;
}

describe('agent configuration', () => {
  it('defaults everything but vm_id; flags override the file', async () => {
    const config = await loadAgentConfig(await file('vm_id: from-file\ninterval: 30s\ncapture:\n  snaplen: 200\n'), { vm_id: 'from-flag', capture: { interface: 'eth0' } });
    expect(config).toMatchObject({
      vm_id: 'from-flag',
      interval: '30s',
      capture: { interface: 'eth0', snaplen: 200, tcpdump_path: 'tcpdump' },
      spool: { dir: '/var/lib/netflow-agent/spool', max_disk_size: '256MiB' },
      store: { type: 'local' },
      metrics: { host: '127.0.0.1', port: 9469 },
    });
  });

  it('reports every problem at once, with its path', async () => {
    const bad = await file(['interval: 90', 'typo_key: 1', 'spool:', '  segment_max_size: 200MiB', '  max_disk_size: 100MiB', 'local_cidrs: [10.0.0.0]', 'store:', '  type: s3', ''].join('\n'));
    const error = await loadAgentConfig(bad, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.replace(bad, '<file>')).toMatchInlineSnapshot(`
      "invalid configuration in <file>:
      ✖ Unrecognized key: "typo_key"
      ✖ Invalid input: expected string, received undefined
        → at vm_id
      ✖ Invalid input: expected string, received number
        → at interval
      ✖ expected a CIDR block such as "10.0.0.0/8" or "fd00::/8"
        → at local_cidrs[0]
      ✖ Invalid input: expected string, received undefined
        → at store.bucket"
    `);
  });

  it('cross-field rules: whole-second interval, disk at least two segments', async () => {
    const error = await loadAgentConfig(await file('vm_id: v\ninterval: 1500ms\nspool:\n  segment_max_size: 200MiB\n  max_disk_size: 100MiB\n'), {}).catch((e: Error) => e.message);
    expect(error).toMatch(/the interval must be a whole number of seconds\n {2}→ at interval/);
    expect(error).toMatch(/must be at least twice spool.segment_max_size\n {2}→ at spool.max_disk_size/);
  });

  it('names an unreadable file and invalid YAML', async () => {
    await expect(loadAgentConfig(path.join(dir, 'missing.yaml'), {})).rejects.toThrow(/cannot read configuration file .*missing\.yaml/);
    await expect(loadAgentConfig(await file('vm_id: [unclosed\n'), {})).rejects.toThrow(/is not valid YAML/);
  });
});

describe('netflow-agent command line', () => {
  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };

  it.each([
    { args: ['--help'], code: 0, out: /Usage:\n {2}netflow-agent/ },
    { args: ['--vm-id', 'v', '--check'], code: 0, out: /configuration ok/ },
    { args: ['--vm-id', 'v', '--dump'], code: 0, out: /vm_id: v\ninterval: 60s/ },
    { args: ['--nope'], code: 2, err: /Unknown option '--nope'/ },
    { args: ['--check'], code: 2, err: /→ at vm_id/ },
    { args: ['--vm-id', 'v', '--metrics-port', 'abc'], code: 2, err: /--metrics-port must be a port number/ },
    { args: ['--vm-id', 'v', '--local-cidr', '10.0.0.0/40', '--check'], code: 2, err: /CIDR block/ },
  ])('$args → exit $code', async ({ args, code, out, err }) => {
    const result = await run(args);
    expect(result.code).toBe(code);
    if (out) expect(result.stdout).toMatch(out);
    if (err) expect(result.stderr).toMatch(err);
  });
});

describe('tcpdump statistics lines', () => {
  it.each([
    { line: 'tcpdump: 12 packets captured, 15 packets received by filter, 3 packets dropped by kernel', stats: { captured: 12, receivedByFilter: 15, droppedByKernel: 3 } },
    { line: '7 packets dropped by kernel', stats: { droppedByKernel: 7 } },
    { line: '1 packet dropped by interface', stats: { droppedByInterface: 1 } },
    { line: 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 128 bytes', stats: undefined },
  ])('$line', ({ line, stats }) => {
    expect(parseTcpdumpStats(line)).toEqual(stats);
  });
});
