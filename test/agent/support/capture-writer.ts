/** Writes pcap and pcapng files from frames, in either byte order, for tests and the benchmark. */
export interface Frame {
  tsUs: number;
  data: Buffer;
  /** Defaults to data.length (pass more to model a snap length). */
  origLen?: number;
  interfaceIndex?: number;
}

export function pcapFile(linkType: number, frames: Iterable<Frame>, options: { nanoseconds?: boolean; bigEndian?: boolean; snaplen?: number } = {}): Buffer {
  const be = options.bigEndian ?? false;
  const parts: Buffer[] = [pcapHeader(linkType, options)];
  for (const frame of frames) parts.push(pcapRecord(frame, options.nanoseconds ?? false, be));
  return Buffer.concat(parts);
}

export function pcapHeader(linkType: number, options: { nanoseconds?: boolean; bigEndian?: boolean; snaplen?: number } = {}): Buffer {
  const h = Buffer.alloc(24);
  const w32 = (v: number, at: number): number => (options.bigEndian ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at));
  const w16 = (v: number, at: number): number => (options.bigEndian ? h.writeUInt16BE(v, at) : h.writeUInt16LE(v, at));
  w32(options.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(2, 4);
  w16(4, 6);
  w32(options.snaplen ?? 262144, 16);
  w32(linkType, 20);
  return h;
}

export function pcapRecord(frame: Frame, nanoseconds: boolean, bigEndian = false): Buffer {
  const h = Buffer.alloc(16);
  const w32 = (v: number, at: number): number => (bigEndian ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at));
  const seconds = Math.floor(frame.tsUs / 1e6);
  const micros = frame.tsUs - seconds * 1e6;
  w32(seconds, 0);
  w32(nanoseconds ? micros * 1000 : micros, 4);
  w32(frame.data.length, 8);
  w32(frame.origLen ?? frame.data.length, 12);
  return Buffer.concat([h, frame.data]);
}

export interface PcapngInterfaceSpec {
  linkType: number;
  /** if_tsresol byte: 6 = microseconds (default), 9 = nanoseconds, 0x80|n = 2^-n. */
  tsresol?: number;
  name?: string;
}

export function pcapngFile(interfaces: PcapngInterfaceSpec[], frames: Iterable<Frame>, options: { bigEndian?: boolean; simple?: boolean } = {}): Buffer {
  const be = options.bigEndian ?? false;
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (be) b.writeUInt32BE(v >>> 0, 0);
    else b.writeUInt32LE(v >>> 0, 0);
    return b;
  };
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (be) b.writeUInt16BE(v, 0);
    else b.writeUInt16LE(v, 0);
    return b;
  };
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const block = (type: number, body: Buffer): Buffer => {
    const length = 12 + body.length;
    return Buffer.concat([u32(type), u32(length), body, u32(length)]);
  };
  const option = (code: number, value: Buffer): Buffer => Buffer.concat([u16(code), u16(value.length), pad(value)]);
  const parts: Buffer[] = [];
  parts.push(block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)])));
  for (const iface of interfaces) {
    const options: Buffer[] = [];
    if (iface.name) options.push(option(2, Buffer.from(iface.name)));
    if (iface.tsresol !== undefined) options.push(option(9, Buffer.from([iface.tsresol])));
    if (options.length > 0) options.push(Buffer.alloc(4));
    parts.push(block(1, Buffer.concat([u16(iface.linkType), u16(0), u32(0), ...options])));
  }
  for (const frame of frames) {
    const data = pad(frame.data);
    if (options.simple) {
      parts.push(block(3, Buffer.concat([u32(frame.origLen ?? frame.data.length), data])));
      continue;
    }
    const iface = interfaces[frame.interfaceIndex ?? 0]!;
    const resol = iface.tsresol ?? 6;
    const ticks = resol & 0x80 ? BigInt(Math.round((frame.tsUs / 1e6) * 2 ** (resol & 0x7f))) : (BigInt(frame.tsUs) * 10n ** BigInt(resol)) / 1_000_000n;
    parts.push(
      block(6, Buffer.concat([u32(frame.interfaceIndex ?? 0), u32(Number(ticks >> 32n)), u32(Number(ticks & 0xffffffffn)), u32(frame.data.length), u32(frame.origLen ?? frame.data.length), data])),
    );
  }
  return Buffer.concat(parts);
}
