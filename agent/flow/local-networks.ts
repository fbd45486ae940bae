import { networkInterfaces } from 'node:os';
import { parseIp } from './ip-text.ts';

/**
 * The VM's own addresses as a set of CIDR blocks; decides a flow's direction. Discovered from
 * the interfaces (each address as a host route) unless the configuration names the blocks.
 */
export class LocalNetworks {
  private readonly blocks: { bytes: Buffer; prefix: number }[];

  constructor(readonly cidrs: readonly string[]) {
    this.blocks = cidrs.map((cidr) => {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new Error(`not a CIDR block: ${cidr}`);
      return parsed;
    });
  }

  /** Whether the 4- or 16-byte address at `buf[off]` is inside one of the blocks. */
  contains(buf: Buffer, off: number, length: 4 | 16): boolean {
    for (const block of this.blocks) {
      if (block.bytes.length !== length) continue;
      if (prefixMatches(block.bytes, buf, off, block.prefix)) return true;
    }
    return false;
  }

  /** From the VM's point of view: sent by it (egress), to it (ingress), or neither (transit). */
  direction(buf: Buffer, srcOff: number, dstOff: number, length: 4 | 16): 'ingress' | 'egress' | 'transit' {
    if (this.contains(buf, srcOff, length)) return 'egress';
    if (this.contains(buf, dstOff, length)) return 'ingress';
    return 'transit';
  }

  static discover(): LocalNetworks {
    const cidrs: string[] = [];
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        const host = address.address.replace(/%.*$/, '');
        cidrs.push(`${host}/${address.family === 'IPv4' ? 32 : 128}`);
      }
    }
    return new LocalNetworks([...new Set(cidrs)]);
  }
}

export function parseCidr(cidr: string): { bytes: Buffer; prefix: number } | undefined {
  const [address, prefixText] = cidr.split('/');
  const bytes = parseIp(address ?? '');
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return undefined;
  return { bytes, prefix };
}

function prefixMatches(block: Buffer, buf: Buffer, off: number, prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((block[i]! & mask) !== (buf[off + i]! & mask)) return false;
  }
  return true;
}
