import { describe, expect, it } from 'vitest';
import { CaptureFormatError, CaptureStreamParser } from '../../agent/pcap/capture-stream-parser.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../../agent/pcap/link-types.ts';
import { pcapFile, pcapngFile, type Frame } from './support/capture-writer.ts';
import { ethernet, ipPacket, linuxSll2 } from './support/packet-builder.ts';

interface Seen {
  tsUs: number;
  linkType: number;
  capLen: number;
  origLen: number;
  firstByte: number;
  interfaceIndex: number;
}

function parse(file: Buffer, chunkSizes: (i: number) => number = () => file.length): { seen: Seen[]; parser: CaptureStreamParser } {
  const seen: Seen[] = [];
  const parser = new CaptureStreamParser((buf, off, capLen, origLen, linkType, tsUs, interfaceIndex) => {
    seen.push({ tsUs, linkType, capLen, origLen, firstByte: buf[off]!, interfaceIndex });
  });
  for (let at = 0, i = 0; at < file.length; i++) {
    const size = Math.max(1, chunkSizes(i));
    parser.push(file.subarray(at, at + size));
    at += size;
  }
  return { seen, parser };
}

const T0 = 1_764_300_000_123_456;
const frames: Frame[] = [
  { tsUs: T0, data: ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 1, dstPort: 2, payload: 3 }) },
  { tsUs: T0 + 999_999, data: ipPacket('::1', '::2', { protocol: 'tcp', srcPort: 3, dstPort: 4 }), origLen: 1500 },
  { tsUs: T0 + 5_000_001, data: ipPacket('10.0.0.2', '10.0.0.1', { protocol: 'icmp' }) },
];
const expected = frames.map((f) => ({ tsUs: f.tsUs, linkType: LINKTYPE_RAW, capLen: f.data.length, origLen: f.origLen ?? f.data.length, firstByte: f.data[0]!, interfaceIndex: 0 }));

const files: { description: string; file: Buffer }[] = [
  { description: 'pcap, microseconds, little-endian', file: pcapFile(LINKTYPE_RAW, frames) },
  { description: 'pcap, microseconds, big-endian', file: pcapFile(LINKTYPE_RAW, frames, { bigEndian: true }) },
  { description: 'pcap, nanoseconds, little-endian', file: pcapFile(LINKTYPE_RAW, frames, { nanoseconds: true }) },
  { description: 'pcap, nanoseconds, big-endian', file: pcapFile(LINKTYPE_RAW, frames, { nanoseconds: true, bigEndian: true }) },
  { description: 'pcapng, little-endian, default resolution', file: pcapngFile([{ linkType: LINKTYPE_RAW }], frames) },
  { description: 'pcapng, big-endian, nanosecond if_tsresol', file: pcapngFile([{ linkType: LINKTYPE_RAW, tsresol: 9, name: 'eth0' }], frames, { bigEndian: true }) },
  { description: 'pcapng, binary if_tsresol 2^-20', file: pcapngFile([{ linkType: LINKTYPE_RAW, tsresol: 0x80 | 20 }], frames) },
];

describe('CaptureStreamParser', () => {
  it.each(files)('$description: whole file, one byte at a time, and odd chunks give the same packets', ({ file, description }) => {
    const approx = description.includes('2^-20');
    for (const chunking of [undefined, () => 1, (i: number) => (i * 7919) % 97]) {
      const { seen, parser } = parse(file, chunking);
      if (approx) {
        // 2^-20 s ticks cannot represent every microsecond exactly.
        expect(seen.map((s) => ({ ...s, tsUs: Math.round(s.tsUs / 10) }))).toEqual(expected.map((s) => ({ ...s, tsUs: Math.round(s.tsUs / 10) })));
      } else {
        expect(seen).toEqual(expected);
      }
      expect(parser.trailingBytes).toBe(0);
      expect(parser.counters.packets).toBe(3);
    }
  });

  it('pcapng with two interfaces of different link types and resolutions', () => {
    const a = ethernet(ipPacket('10.0.0.1', '10.0.0.2', { protocol: 'udp', srcPort: 1, dstPort: 2 }));
    const b = linuxSll2(ipPacket('::1', '::1', { protocol: 'udp', srcPort: 3, dstPort: 4 }));
    const file = pcapngFile(
      [
        { linkType: LINKTYPE_ETHERNET, tsresol: 6 },
        { linkType: LINKTYPE_LINUX_SLL2, tsresol: 9 },
      ],
      [
        { tsUs: T0, data: a, interfaceIndex: 0 },
        { tsUs: T0 + 1, data: b, interfaceIndex: 1 },
      ],
    );
    const { seen } = parse(file, () => 5);
    expect(seen.map((s) => [s.linkType, s.tsUs, s.interfaceIndex])).toEqual([
      [LINKTYPE_ETHERNET, T0, 0],
      [LINKTYPE_LINUX_SLL2, T0 + 1, 1],
    ]);
  });

  it('pcapng simple packet blocks: captured length from the block, timestamp of the latest packet', () => {
    const file = pcapngFile([{ linkType: LINKTYPE_RAW }], frames, { simple: true });
    const { seen } = parse(file);
    expect(seen.map((s) => [s.capLen, s.origLen])).toEqual(frames.map((f) => [f.data.length, f.origLen ?? f.data.length]));
  });

  it('a second section resets the interfaces and may switch byte order', () => {
    const le = pcapngFile([{ linkType: LINKTYPE_RAW }], frames.slice(0, 1));
    const be = pcapngFile([{ linkType: LINKTYPE_ETHERNET }], [{ tsUs: T0, data: ethernet(frames[0]!.data) }], { bigEndian: true });
    const { seen } = parse(Buffer.concat([le, be]), () => 3);
    expect(seen.map((s) => s.linkType)).toEqual([LINKTYPE_RAW, LINKTYPE_ETHERNET]);
  });

  it('a stream cut inside a record keeps the tail as trailing bytes', () => {
    const file = pcapFile(LINKTYPE_RAW, frames);
    const { seen, parser } = parse(file.subarray(0, file.length - 5));
    expect(seen).toHaveLength(2);
    expect(parser.trailingBytes).toBe(16 + frames[2]!.data.length - 5);
  });

  it('refuses a stream that is neither pcap nor pcapng, naming the magic', () => {
    expect(() => parse(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(CaptureFormatError);
    expect(() => parse(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(/magic 0x47455420/);
  });

  it('refuses absurd record lengths instead of buffering them', () => {
    const file = pcapFile(LINKTYPE_RAW, frames.slice(0, 1));
    file.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(() => parse(file)).toThrow(/claims 2147483647 bytes/);
  });
});
