/** Canonical text of an IPv4 address stored at `buf[off, off+4)`. */
export function ipv4Text(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of an IPv6 address at `buf[off, off+16)`: lowercase, longest zero run (≥ 2 groups) as `::`. */
export function ipv6Text(buf: Buffer, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses IPv4 or IPv6 text into 4 or 16 bytes; undefined when it is neither. */
export function parseIp(text: string): Buffer | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return Buffer.from(parts);
  }
  if (!text.includes(':')) return undefined;
  let body = text.replace(/%.*$/, '');
  // An embedded dotted quad (`::ffff:10.0.0.1`) becomes the two hex groups it stands for.
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
  if (v4) {
    const bytes = parseIp(v4[2]!);
    if (!bytes) return undefined;
    body = `${v4[1]}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (known > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  } else {
    if (known !== 8) return undefined;
    groups = head;
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  return out;
}
