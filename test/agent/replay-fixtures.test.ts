import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../agent/cli.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { readAgentObjects, sorted, sumByFlow } from './support/lake.ts';
import { convertEthernetPcap, type Conversion } from './support/pcap-convert.ts';
import { writeSyntheticCapture } from './support/synthetic-capture.ts';
import { tshark } from './support/system-tools.ts';
import { tsharkFlows } from './support/tshark-flows.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/pcap');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'netflow-agent-replay-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function replay(file: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = await mkdtemp(path.join(work, 'out-'));
  let stdout = '';
  let stderr = '';
  const code = await main(['--pcap', file, '--vm-id', 'vm-replay', '--out', out, '--interval', '1s', ...extra], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr, out };
}

const committed = [
  { file: 'lo-ethernet-micro.pcap', covers: 'Ethernet (loopback), pcap microseconds: UDP/TCP over IPv4 and IPv6, ICMP and ICMPv6 port unreachable' },
  { file: 'any-sll-nano.pcap', covers: 'Linux cooked capture v1 (-i any), pcap nanoseconds' },
  { file: 'any-sll2.pcap', covers: 'Linux cooked capture v2 (-i any -y LINUX_SLL2)' },
  { file: 'lo-ethernet.pcapng', covers: 'pcapng as Wireshark writes it (editcap)' },
  { file: 'veth-fragments.pcap', covers: 'IPv4 and IPv6 fragments (real Fragment extension header) between two namespaces' },
  { file: 'public-wireshark-smtp.pcap', covers: "public capture: Wireshark's SMTP sample (DNS over UDP, an SMTP session over TCP), from the npm package pcap-parser" },
  { file: 'public-pcap-ng-parser-home.pcapng', covers: 'public capture: a home network in pcapng (TCP/TLS, SSDP over UDP, IPv6 multicast), from the npm package pcap-ng-parser' },
];

const conversions: { conversion: Conversion; covers: string }[] = [
  { conversion: 'null-le', covers: 'BSD loopback (DLT_NULL), little-endian family, AF_INET6 = 30' },
  { conversion: 'loop', covers: 'OpenBSD loopback (DLT_LOOP), big-endian family' },
  { conversion: 'raw', covers: 'raw IP (LINKTYPE_RAW)' },
  { conversion: 'big-endian', covers: 'big-endian pcap' },
  { conversion: 'vlan-qinq', covers: 'QinQ: 802.1ad outer + 802.1Q inner tag' },
];

tshark.describe('replay equals an independent per-packet reading (tshark)', () => {
  it.each(committed)('$file: $covers', async ({ file }) => {
    const capture = path.join(FIXTURES, file);
    const { code, stdout, out } = await replay(capture, ['--local-cidr', '127.0.0.0/8']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ complete: true, segmentsPending: 0 });
    const objects = await readAgentObjects(new LocalFolderStore(out));
    const records = objects.flatMap((o) => o.records);
    const expected = tsharkFlows(capture);
    expect(expected.size).toBeGreaterThan(0);
    expect(sorted(sumByFlow(records))).toEqual(sorted(expected));
    // Direction from --local-cidr: loopback IPv4 is local, so every IPv4 flow leaves; nothing else is local.
    for (const r of records) expect(r.direction).toBe(r.src_ip.startsWith('127.') ? 'egress' : 'transit');
  });

  it.each(conversions)('lo-ethernet-micro.pcap re-framed as $conversion: $covers', async ({ conversion }) => {
    const converted = path.join(work, `converted-${conversion}.pcap`);
    await writeFile(converted, convertEthernetPcap(path.join(FIXTURES, 'lo-ethernet-micro.pcap'), conversion));
    const { code, out } = await replay(converted);
    expect(code).toBe(0);
    const records = (await readAgentObjects(new LocalFolderStore(out))).flatMap((o) => o.records);
    expect(sorted(sumByFlow(records))).toEqual(sorted(tsharkFlows(converted)));
  });

  it('covers what the fixtures claim: IPv4 and IPv6, TCP, UDP, ICMP, ICMPv6, fragments', () => {
    const protocols = new Set<string>();
    for (const { file } of committed) {
      for (const key of tsharkFlows(path.join(FIXTURES, file)).keys()) {
        const [protocol, src] = key.split(' ');
        protocols.add(`${protocol}/${src!.includes('.') ? 4 : 6}`);
      }
    }
    expect([...protocols].sort()).toEqual(expect.arrayContaining(['1/4', '17/4', '17/6', '58/6', '6/4', '6/6']));
  });

  it('a second replay of the same file into the same folder adds nothing (resumes as complete)', async () => {
    const capture = path.join(FIXTURES, 'lo-ethernet-micro.pcap');
    const first = await replay(capture);
    let stdout = '';
    const code = await main(['--pcap', capture, '--vm-id', 'vm-replay', '--out', first.out, '--interval', '1s'], { stdout: (t) => (stdout += t), stderr: () => {} });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ packets: 0, complete: true });
    const records = (await readAgentObjects(new LocalFolderStore(first.out))).flatMap((o) => o.records);
    expect(sorted(sumByFlow(records))).toEqual(sorted(tsharkFlows(capture)));
  });
});

describe('replay without an independent reader: synthetic truth and bad input', () => {
  it('bounded memory: more open flows than max_open_flows are written out early, sums stay exact', async () => {
    const capture = path.join(work, 'many-flows.pcap');
    const truth = await writeSyntheticCapture(capture, { flows: 3_000, packets: 70_000, startUs: Date.UTC(2026, 0, 1) * 1000, durationUs: 10_000_000 });
    const config = path.join(work, 'small-memory.yaml');
    await writeFile(config, 'max_open_flows: 1000\n');
    const { code, out } = await replay(capture, ['--config', config, '--interval', '60s']);
    expect(code).toBe(0);
    const records = (await readAgentObjects(new LocalFolderStore(out))).flatMap((o) => o.records);
    expect(records.length).toBe(6_000); // each flow once before the early write at packet 65 536, once after
    const byFlow = sumByFlow(records);
    expect([...truth.flows].map(([k, v]) => [k, v.packets, v.bytes])).toEqual([...truth.flows.keys()].map((k) => [k, byFlow.get(k)?.packets, byFlow.get(k)?.bytes]));
  });

  it('refuses --pcap without --out, and a file that is not a capture, with exit codes 2 and 1', async () => {
    let stderr = '';
    expect(await main(['--pcap', 'x.pcap', '--vm-id', 'v'], { stdout: () => {}, stderr: (t) => (stderr += t) })).toBe(2);
    expect(stderr).toMatch(/--pcap needs --out/);
    const junk = path.join(work, 'junk.pcap');
    await writeFile(junk, 'this is not a capture at all, just text');
    const result = await replay(junk);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not a pcap or pcapng stream/);
  });
});
