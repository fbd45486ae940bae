/**
 * A streaming reader of pcap and pcapng as tcpdump, dumpcap and Wireshark write them: pcap in
 * micro- and nanosecond resolution and either byte order; pcapng sections (SHB) of either byte
 * order with per-interface link types and timestamp resolution (IDB), EPB, SPB and the obsolete
 * packet block. Chunks may split records anywhere. Pure: bytes in, packets out through a callback.
 */

export type PacketHandler = (buf: Buffer, offset: number, capturedLength: number, originalLength: number, linkType: number, timestampUs: number, interfaceIndex: number) => void;

export class CaptureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Larger than any real frame, small enough that garbage cannot make us buffer gigabytes. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second, from if_tsresol (default 10^6). */
  unitsPerSecond: number;
  offsetSeconds: number;
  name: string | undefined;
}

export interface CaptureParserCounters {
  packets: number;
  /** pcapng blocks that are not packets (statistics, name resolution, custom), skipped. */
  skippedBlocks: number;
  /** Packets of an interface id never described by an IDB: counted, not decoded. */
  unknownInterface: number;
}

export class CaptureStreamParser {
  readonly counters: CaptureParserCounters = { packets: 0, skippedBlocks: 0, unknownInterface: 0 };
  private format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  private littleEndian = true;
  private nanoseconds = false;
  private pcapLinkType = 0;
  private interfaces: PcapngInterface[] = [];
  private pending: Buffer | undefined;
  private bytesConsumed = 0;

  constructor(private readonly onPacket: PacketHandler) {}

  /** The link type of a classic pcap stream, once its header is read. */
  get linkType(): number | undefined {
    return this.format === 'pcap' ? this.pcapLinkType : this.interfaces[0]?.linkType;
  }

  get interfaceNames(): (string | undefined)[] {
    return this.interfaces.map((i) => i.name);
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let offset = 0;
    for (;;) {
      const used = this.format === 'pcapng' ? this.pcapngBlock(buf, offset) : this.format === 'pcap' ? this.pcapRecord(buf, offset) : this.header(buf, offset);
      if (used === 0) break;
      offset += used;
      this.bytesConsumed += used;
    }
    if (offset < buf.length) this.pending = Buffer.from(buf.subarray(offset));
  }

  /** Bytes left over at the end of the stream: a record cut short (for example by a killed writer). */
  get trailingBytes(): number {
    return this.pending?.length ?? 0;
  }

  private header(buf: Buffer, offset: number): number {
    if (buf.length - offset < 4) return 0;
    const be = buf.readUInt32BE(offset);
    if (be === PCAPNG_SHB) {
      this.format = 'pcapng';
      return this.pcapngBlock(buf, offset);
    }
    if (buf.length - offset < 24) return 0;
    const le = buf.readUInt32LE(offset);
    if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) this.littleEndian = true;
    else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) this.littleEndian = false;
    else throw new CaptureFormatError(`not a pcap or pcapng stream (magic 0x${be.toString(16).padStart(8, '0')})`);
    this.nanoseconds = (this.littleEndian ? le : be) === PCAP_MAGIC_NS;
    this.pcapLinkType = this.u32(buf, offset + 20) & 0x03ffffff;
    this.format = 'pcap';
    return 24;
  }

  private pcapRecord(buf: Buffer, offset: number): number {
    if (buf.length - offset < 16) return 0;
    const le = this.littleEndian;
    const capLen = le ? buf.readUInt32LE(offset + 8) : buf.readUInt32BE(offset + 8);
    if (capLen > MAX_RECORD_BYTES) throw new CaptureFormatError(`pcap record at byte ${this.bytesConsumed} claims ${capLen} bytes`);
    if (buf.length - offset < 16 + capLen) return 0;
    const seconds = le ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
    const fraction = le ? buf.readUInt32LE(offset + 4) : buf.readUInt32BE(offset + 4);
    const origLen = le ? buf.readUInt32LE(offset + 12) : buf.readUInt32BE(offset + 12);
    const tsUs = seconds * 1_000_000 + (this.nanoseconds ? Math.floor(fraction / 1000) : fraction);
    this.counters.packets++;
    this.onPacket(buf, offset + 16, capLen, origLen, this.pcapLinkType, tsUs, 0);
    return 16 + capLen;
  }

  private pcapngBlock(buf: Buffer, offset: number): number {
    if (buf.length - offset < 12) return 0;
    const typeBe = buf.readUInt32BE(offset);
    if (typeBe === PCAPNG_SHB) {
      // The byte-order magic decides how this section, including this block's length, is read.
      const magicLe = buf.readUInt32LE(offset + 8);
      if (magicLe === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (buf.readUInt32BE(offset + 8) === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = false;
      else throw new CaptureFormatError(`pcapng section header at byte ${this.bytesConsumed} has no byte-order magic`);
    }
    const length = this.u32(buf, offset + 4);
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_BYTES) {
      throw new CaptureFormatError(`pcapng block at byte ${this.bytesConsumed} has invalid length ${length}`);
    }
    if (buf.length - offset < length) return 0;
    const type = this.u32(buf, offset);
    switch (type) {
      case PCAPNG_SHB:
        this.interfaces = [];
        break;
      case 1:
        this.interfaces.push(this.interfaceBlock(buf, offset, length));
        break;
      case 6:
        this.packetBlock(buf, offset, length, this.u32(buf, offset + 8), 12);
        break;
      case 2:
        this.packetBlock(buf, offset, length, this.u16(buf, offset + 8), 12);
        break;
      case 3: {
        const iface = this.interfaces[0];
        const origLen = this.u32(buf, offset + 8);
        if (!iface) {
          this.counters.unknownInterface++;
          break;
        }
        let capLen = Math.min(origLen, length - 16);
        if (iface.snapLength > 0) capLen = Math.min(capLen, iface.snapLength);
        // A simple packet block has no timestamp; it is given the stream's latest one.
        this.counters.packets++;
        this.onPacket(buf, offset + 12, capLen, origLen, iface.linkType, this.lastTimestampUs, 0);
        break;
      }
      default:
        this.counters.skippedBlocks++;
    }
    return length;
  }

  private lastTimestampUs = 0;

  private packetBlock(buf: Buffer, offset: number, length: number, interfaceIndex: number, tsAt: number): void {
    const iface = this.interfaces[interfaceIndex];
    if (!iface) {
      this.counters.unknownInterface++;
      return;
    }
    const ticks = this.u32(buf, offset + tsAt) * 4294967296 + this.u32(buf, offset + tsAt + 4);
    const capLen = this.u32(buf, offset + tsAt + 8);
    const origLen = this.u32(buf, offset + tsAt + 12);
    const dataAt = offset + tsAt + 16;
    if (dataAt + capLen > offset + length - 4) {
      throw new CaptureFormatError(`pcapng packet block at byte ${this.bytesConsumed} is shorter than its captured length ${capLen}`);
    }
    const ups = iface.unitsPerSecond;
    let tsUs: number;
    if (ups === 1_000_000) tsUs = ticks;
    else if (ups > 1_000_000) tsUs = Math.floor(ticks / (ups / 1_000_000));
    else tsUs = Math.floor((ticks * 1_000_000) / ups);
    tsUs += iface.offsetSeconds * 1_000_000;
    this.lastTimestampUs = tsUs;
    this.counters.packets++;
    this.onPacket(buf, dataAt, capLen, origLen, iface.linkType, tsUs, interfaceIndex);
  }

  private interfaceBlock(buf: Buffer, offset: number, length: number): PcapngInterface {
    const iface: PcapngInterface = {
      linkType: this.u16(buf, offset + 8),
      snapLength: this.u32(buf, offset + 12),
      unitsPerSecond: 1_000_000,
      offsetSeconds: 0,
      name: undefined,
    };
    let p = offset + 16;
    const end = offset + length - 4;
    while (p + 4 <= end) {
      const code = this.u16(buf, p);
      const len = this.u16(buf, p + 2);
      const value = p + 4;
      if (code === 0 || value + len > end) break;
      if (code === 9 && len >= 1) {
        const resolution = buf[value]!;
        const exponent = resolution & 0x7f;
        iface.unitsPerSecond = resolution & 0x80 ? 2 ** exponent : 10 ** exponent;
      } else if (code === 14 && len >= 8) {
        iface.offsetSeconds = Number(this.littleEndian ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
      } else if (code === 2) {
        iface.name = buf.toString('utf8', value, value + len).replace(/\0+$/, '');
      }
      p = value + ((len + 3) & ~3);
    }
    return iface;
  }

  private u32(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  private u16(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }
}
