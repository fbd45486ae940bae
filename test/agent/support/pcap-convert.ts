import { readFileSync } from 'node:fs';

/**
 * Re-frames a little-endian microsecond Ethernet pcap under another link type or byte order,
 * record by record, with its own minimal reader (not the agent's parser), so that tshark can
 * read the result independently.
 */
export type Conversion = 'null-le' | 'loop' | 'raw' | 'big-endian' | 'vlan-qinq';

export function convertEthernetPcap(file: string, conversion: Conversion): Buffer {
  const input = readFileSync(file);
  if (input.readUInt32LE(0) !== 0xa1b2c3d4 || input.readUInt32LE(20) !== 1) throw new Error(`${file}: expected a little-endian microsecond Ethernet pcap`);
  const header = Buffer.from(input.subarray(0, 24));
  const linkType = { 'null-le': 0, loop: 108, raw: 101, 'big-endian': 1, 'vlan-qinq': 1 }[conversion];
  const be = conversion === 'big-endian';
  if (be) {
    header.writeUInt32BE(0xa1b2c3d4, 0);
    header.writeUInt16BE(2, 4);
    header.writeUInt16BE(4, 6);
    header.writeUInt32BE(0, 8);
    header.writeUInt32BE(0, 12);
    header.writeUInt32BE(input.readUInt32LE(16), 16);
    header.writeUInt32BE(linkType, 20);
  } else {
    header.writeUInt32LE(linkType, 20);
  }
  const parts: Buffer[] = [header];
  for (let at = 24; at + 16 <= input.length;) {
    const capLen = input.readUInt32LE(at + 8);
    const origLen = input.readUInt32LE(at + 12);
    const frame = input.subarray(at + 16, at + 16 + capLen);
    at += 16 + capLen;
    const etherType = frame.readUInt16BE(12);
    const ip = frame.subarray(14);
    let out: Buffer;
    let delta: number;
    if (conversion === 'null-le' || conversion === 'loop') {
      const family = Buffer.alloc(4);
      const value = etherType === 0x86dd ? (conversion === 'loop' ? 24 : 30) : 2;
      if (conversion === 'loop') family.writeUInt32BE(value, 0);
      else family.writeUInt32LE(value, 0);
      out = Buffer.concat([family, ip]);
      delta = -10;
    } else if (conversion === 'raw') {
      out = Buffer.from(ip);
      delta = -14;
    } else if (conversion === 'vlan-qinq') {
      out = Buffer.concat([frame.subarray(0, 12), Buffer.from([0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]), frame.subarray(12)]);
      delta = 8;
    } else {
      out = Buffer.from(frame);
      delta = 0;
    }
    const record = Buffer.alloc(16);
    const w = (v: number, o: number): number => (be ? record.writeUInt32BE(v, o) : record.writeUInt32LE(v, o));
    w(input.readUInt32LE(at - capLen - 16), 0);
    w(input.readUInt32LE(at - capLen - 12), 4);
    w(out.length, 8);
    w(origLen + delta, 12);
    parts.push(record, out);
  }
  return Buffer.concat(parts);
}
