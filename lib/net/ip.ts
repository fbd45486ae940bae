/**
 * IP address and CIDR functions: the TypeScript reference for the SQL macros in
 * sql/macros/00_ip.sql. Both follow the same rules and tests hold them equal:
 * - IPv4 is a strict dotted quad, octets 0-255 without leading zeros ('010.1.1.1' is ambiguous:
 *   inet_aton reads it as octal), also as the dotted tail of an IPv6 text;
 * - IPv6 is any RFC 4291 text, case-insensitive, with at most one '::' and an optional dotted
 *   tail; zone ids ('fe80::1%eth0') are rejected, since they are not part of the address;
 * - nothing is trimmed; invalid text gives null, never an exception.
 */

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** The address bytes in network order: 4 or 16 of them. */
  bytes: Uint8Array;
}

export interface ParsedCidr {
  family: IpFamily;
  prefixLen: number;
  /** First and last address of the range, as numbers (host bits of the given address are masked). */
  start: bigint;
  end: bigint;
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const IPV6_GROUPS = /^(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?)$/;
const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIpv4(text: string): Uint8Array | null {
  if (!IPV4.test(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

function parseIpv6(text: string): Uint8Array | null {
  let t = text.toLowerCase();
  if (t.includes('.')) {
    const cut = t.lastIndexOf(':') + 1;
    const tail = parseIpv4(t.slice(cut));
    if (!tail) return null;
    t = `${t.slice(0, cut)}${((tail[0]! << 8) | tail[1]!).toString(16)}:${((tail[2]! << 8) | tail[3]!).toString(16)}`;
  }
  if (!IPV6_GROUPS.test(t)) return null;
  const [head = '', tail = ''] = t.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const compressed = t.includes('::');
  if (compressed && headGroups.length + tailGroups.length > 7) return null;
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 text; null when it is not a valid address. */
export function parseIp(text: string | null | undefined): ParsedIp | null {
  if (typeof text !== 'string') return null;
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  if (!text.includes(':')) return null;
  const v6 = parseIpv6(text);
  return v6 ? { family: 6, bytes: v6 } : null;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  return IPV4_MAPPED_PREFIX.every((byte, index) => bytes[index] === byte);
}

/** RFC 5952 text of 16 address bytes. */
function ipv6Text(bytes: Uint8Array): string {
  if (isIpv4Mapped(bytes)) return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, index) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
  // The longest run of two or more zero groups, the first one on ties, becomes '::'.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Canonical text: a valid IPv4 as given, IPv6 in RFC 5952 form; null when invalid. */
export function ipCanonical(text: string | null | undefined): string | null {
  const ip = parseIp(text);
  if (!ip) return null;
  return ip.family === 4 ? Array.from(ip.bytes).join('.') : ipv6Text(ip.bytes);
}

export function ipFamily(text: string | null | undefined): IpFamily | null {
  return parseIp(text)?.family ?? null;
}

/** 8 or 32 lowercase hex digits of the address bytes. */
export function ipToHex(text: string | null | undefined): string | null {
  const ip = parseIp(text);
  return ip ? toHex(ip.bytes) : null;
}

/** The address as a number (IPv4 32-bit, IPv6 128-bit), as the SQL UHUGEINT. */
export function ipToBigInt(text: string | null | undefined): bigint | null {
  const ip = parseIp(text);
  return ip ? BigInt(`0x${toHex(ip.bytes)}`) : null;
}

const PRIVATE_V4: readonly (readonly [base: string, prefixLen: number])[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3], // multicast 224/4, reserved 240/4, broadcast
];

const PRIVATE_V6: readonly (readonly [base: string, prefixLen: number])[] = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
];

/** The special-purpose IPv4 ranges (PRIVATE_V4) as network and mask, unsigned 32-bit. */
const PRIVATE_V4_NETWORKS = PRIVATE_V4.map(([base]) => Number(ipToBigInt(base)!));
const PRIVATE_V4_MASKS = PRIVATE_V4.map(([, prefixLen]) => (prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0));

/**
 * ipIsPublic for the four bytes of an IPv4 address, without parsing text or BigInt: for callers
 * that judge an address per record (staging).
 */
export function ipv4BytesArePublic(bytes: Uint8Array): boolean {
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  for (let index = 0; index < PRIVATE_V4_NETWORKS.length; index++) {
    if ((value & PRIVATE_V4_MASKS[index]!) >>> 0 === PRIVATE_V4_NETWORKS[index]) return false;
  }
  return true;
}

function inRanges(value: bigint, bits: number, ranges: readonly (readonly [string, number])[]): boolean {
  return ranges.some(([base, prefixLen]) => value >> BigInt(bits - prefixLen) === ipToBigInt(base)! >> BigInt(bits - prefixLen));
}

/**
 * False inside the special-purpose ranges (RFC 1918, CGNAT, loopback, link-local, 0/8, multicast,
 * 240/4, broadcast, ULA, ::, ::1, documentation, benchmarking); an IPv4-mapped IPv6 address is
 * judged by its IPv4 address. True for every other valid address, null for invalid text.
 */
export function ipIsPublic(text: string | null | undefined): boolean | null {
  const ip = parseIp(text);
  if (!ip) return null;
  if (ip.family === 4 || isIpv4Mapped(ip.bytes)) return ipv4BytesArePublic(ip.bytes.subarray(-4));
  return !inRanges(BigInt(`0x${toHex(ip.bytes)}`), 128, PRIVATE_V6);
}

const PREFIX_LEN = /^(0|[1-9][0-9]{0,2})$/;

/** 'address/len' or a bare address (a /32 or /128); null when invalid or the prefix is too long. */
export function parseCidr(text: string | null | undefined): ParsedCidr | null {
  if (typeof text !== 'string') return null;
  const parts = text.split('/');
  if (parts.length > 2) return null;
  const [address = '', prefixText] = parts;
  const ip = parseIp(address);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !PREFIX_LEN.test(prefixText)) return null;
  const prefixLen = prefixText === undefined ? bits : Number(prefixText);
  if (prefixLen > bits) return null;
  const hostMask = (1n << BigInt(bits - prefixLen)) - 1n;
  const value = BigInt(`0x${toHex(ip.bytes)}`);
  return { family: ip.family, prefixLen, start: value & ~hostMask, end: value | hostMask };
}
