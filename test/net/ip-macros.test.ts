import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipCanonical, ipFamily, ipIsPublic, ipToBigInt, ipToHex, parseCidr } from '../../lib/net/ip.ts';
import { CaseBatch, openMacroDb, valuesTable, type MacroDb } from './macro-db.ts';

let db: MacroDb;
beforeAll(async () => {
  db = await openMacroDb();
});
afterAll(() => db?.close());

interface IpRow {
  canonical: string | null;
  family: number | null;
  hex: string | null;
  value: string | null;
  is_public: boolean | null;
}

/** Every IP macro applied to each input, in input order. */
async function ipMacros(inputs: (string | null)[]): Promise<IpRow[]> {
  return db.all<IpRow & { i: number }>(`
    SELECT i, ip_canonical(t) AS canonical, ip_family(t) AS family, ip_to_hex(t) AS hex,
           ip_to_uhugeint(t)::VARCHAR AS value, ip_is_public(t) AS is_public
    FROM ${valuesTable(
      'cases',
      ['t'],
      inputs.map((input) => [input]),
    )}
    ORDER BY i`);
}

/** The table-driven cases below, all computed in one query per macro family. */
const ipBatch = new CaseBatch<string | null, IpRow>(ipMacros);

/** The same functions from the TypeScript reference. */
function ipReference(input: string | null): IpRow {
  return {
    canonical: ipCanonical(input),
    family: ipFamily(input),
    hex: ipToHex(input),
    value: ipToBigInt(input)?.toString() ?? null,
    is_public: ipIsPublic(input),
  };
}

interface CidrRow {
  family: number | null;
  prefix_len: number | null;
  start: string | null;
  end: string | null;
}

async function cidrMacros(inputs: (string | null)[]): Promise<CidrRow[]> {
  return db.all<CidrRow & { i: number }>(`
    SELECT i, cidr_family(c) AS family, cidr_prefix_len(c) AS prefix_len,
           cidr_start(c)::VARCHAR AS start, cidr_end(c)::VARCHAR AS "end"
    FROM ${valuesTable(
      'cases',
      ['c'],
      inputs.map((input) => [input]),
    )}
    ORDER BY i`);
}

const cidrBatch = new CaseBatch<string | null, CidrRow>(cidrMacros);

function cidrReference(input: string | null): CidrRow {
  const cidr = parseCidr(input);
  return cidr ? { family: cidr.family, prefix_len: cidr.prefixLen, start: cidr.start.toString(), end: cidr.end.toString() } : { family: null, prefix_len: null, start: null, end: null };
}

function withoutOrdinal<T extends object>(rows: (T & { i?: number })[]): T[] {
  return rows.map(({ i: _i, ...rest }) => rest as T);
}

/** The first few inputs where SQL and TypeScript disagree (a short, readable failure). */
function mismatches<T>(inputs: (string | null)[], sql: T[], ts: T[]): { input: string | null; sql: T | undefined; ts: T | undefined }[] {
  return inputs
    .map((input, index) => ({ input, sql: sql[index], ts: ts[index] }))
    .filter(({ sql, ts }) => JSON.stringify(sql) !== JSON.stringify(ts))
    .slice(0, 5);
}

describe('ip_canonical, ip_family, ip_to_hex: valid addresses', () => {
  const cases: { description: string; input: string; canonical: string; family: 4 | 6; hex: string }[] = [
    { description: 'IPv4 dotted quad', input: '192.0.2.33', canonical: '192.0.2.33', family: 4, hex: 'c0000221' },
    { description: 'IPv4 all zeros', input: '0.0.0.0', canonical: '0.0.0.0', family: 4, hex: '00000000' },
    { description: 'IPv4 broadcast', input: '255.255.255.255', canonical: '255.255.255.255', family: 4, hex: 'ffffffff' },
    { description: 'IPv6 unspecified', input: '::', canonical: '::', family: 6, hex: '0'.repeat(32) },
    { description: 'IPv6 loopback', input: '::1', canonical: '::1', family: 6, hex: `${'0'.repeat(31)}1` },
    { description: 'IPv6 uppercase is lowered', input: '2001:DB8::A', canonical: '2001:db8::a', family: 6, hex: '20010db800000000000000000000000a' },
    {
      description: 'IPv6 full form loses leading zeros and compresses',
      input: '2001:0db8:0000:0000:0000:0000:0000:0001',
      canonical: '2001:db8::1',
      family: 6,
      hex: '20010db8000000000000000000000001',
    },
    { description: 'the longest zero run is compressed', input: '1:0:0:2:0:0:0:3', canonical: '1:0:0:2::3', family: 6, hex: '00010000000000020000000000000003' },
    { description: 'the first zero run wins a tie', input: '1:0:0:2:0:0:3:4', canonical: '1::2:0:0:3:4', family: 6, hex: '00010000000000020000000000030004' },
    { description: 'a single zero group is not compressed', input: '1:2:3:4:5:6:7::', canonical: '1:2:3:4:5:6:7:0', family: 6, hex: '00010002000300040005000600070000' },
    { description: 'a zero run at the start', input: '0:0:0:0:0:0:0:1', canonical: '::1', family: 6, hex: `${'0'.repeat(31)}1` },
    { description: 'a zero run at the end', input: '1:0:0:0:0:0:0:0', canonical: '1::', family: 6, hex: `0001${'0'.repeat(28)}` },
    { description: 'IPv4-mapped with a dotted tail', input: '::ffff:192.0.2.1', canonical: '::ffff:192.0.2.1', family: 6, hex: '00000000000000000000ffffc0000201' },
    { description: 'IPv4-mapped in hex is written dotted', input: '::FFFF:c000:0201', canonical: '::ffff:192.0.2.1', family: 6, hex: '00000000000000000000ffffc0000201' },
    { description: 'a dotted tail after six groups', input: '1:2:3:4:5:6:1.2.3.4', canonical: '1:2:3:4:5:6:102:304', family: 6, hex: '00010002000300040005000601020304' },
    { description: 'IPv4-compatible (deprecated) stays hex', input: '::1.2.3.4', canonical: '::102:304', family: 6, hex: '00000000000000000000000001020304' },
    { description: 'link-local', input: 'fe80::200:86ff:fe05:80da', canonical: 'fe80::200:86ff:fe05:80da', family: 6, hex: 'fe80000000000000020086fffe0580da' },
    { description: 'a zero group before :: joins the run', input: '1:0::', canonical: '1::', family: 6, hex: `0001${'0'.repeat(28)}` },
    { description: 'a zero group after :: joins the run', input: '::0:1', canonical: '::1', family: 6, hex: `${'0'.repeat(31)}1` },
    { description: ':: not on the longest run', input: '1::2:0:0:0:3', canonical: '1:0:0:2::3', family: 6, hex: '00010000000000020000000000000003' },
    { description: 'IPv4-mapped written in hex and compressed', input: '::ffff:1:2', canonical: '::ffff:0.1.0.2', family: 6, hex: '00000000000000000000ffff00010002' },
    { description: 'a canonical text with single zero groups', input: '0:1:0:2:0:3:0:4', canonical: '0:1:0:2:0:3:0:4', family: 6, hex: '00000001000000020000000300000004' },
  ];

  it.each(cases.map((c) => ({ ...c, sql: ipBatch.add(c.input) })))('$description: $input', async ({ input, canonical, family, hex, sql }) => {
    const row = await sql();
    expect(row).toMatchObject({ canonical, family, hex });
    expect(ipReference(input)).toMatchObject({ canonical, family, hex });
  });
});

describe('invalid text gives NULL from every macro, never an error', () => {
  const cases: { description: string; input: string | null }[] = [
    { description: 'octet above 255', input: '256.1.1.1' },
    { description: 'three octets', input: '1.2.3' },
    { description: 'five octets', input: '1.2.3.4.5' },
    { description: 'trailing dot', input: '1.2.3.4.' },
    { description: 'empty octet', input: '1..2.3' },
    { description: 'leading zero (octal to inet_aton)', input: '010.1.1.1' },
    { description: 'leading zero in the last octet', input: '1.2.3.04' },
    { description: 'exponent that an integer cast would accept', input: '1e2.1.1.1' },
    { description: 'hex octet', input: '0x1.1.1.1' },
    { description: 'signed octet', input: '+1.2.3.4' },
    { description: 'negative octet', input: '1.2.3.-4' },
    { description: 'leading space', input: ' 1.2.3.4' },
    { description: 'trailing space', input: '1.2.3.4 ' },
    { description: 'non-ASCII digits', input: '١.٢.٣.٤' },
    { description: 'two ::', input: '::1::' },
    { description: 'group of five hex digits', input: '12345::' },
    { description: 'nine groups', input: '1:2:3:4:5:6:7:8:9' },
    { description: ':: standing for no group', input: '1::2:3:4:5:6:7:8' },
    { description: 'seven groups without ::', input: '1:2:3:4:5:6:7' },
    { description: 'triple colon', input: '1:::2' },
    { description: 'single leading colon', input: ':1::' },
    { description: 'single trailing colon', input: '1::2:' },
    { description: 'non-hex digit', input: 'g::1' },
    { description: 'zone id', input: 'fe80::1%eth0' },
    { description: 'brackets', input: '[::1]' },
    { description: 'a prefix length', input: '::1/128' },
    { description: 'short dotted tail', input: '::ffff:1.2.3' },
    { description: 'leading zero in a dotted tail', input: '::ffff:01.2.3.4' },
    { description: 'dotted part not at the end', input: '1.2.3.4::' },
    { description: 'dotted tail after seven groups', input: '1:2:3:4:5:6:7:1.2.3.4' },
    { description: 'empty', input: '' },
    { description: 'NULL', input: null },
  ];

  it.each(cases.map((c) => ({ ...c, sql: ipBatch.add(c.input) })))('$description: $input', async ({ input, sql }) => {
    const nulls = { canonical: null, family: null, hex: null, value: null, is_public: null };
    expect(await sql()).toEqual(expect.objectContaining(nulls));
    expect(ipReference(input)).toEqual(nulls);
  });
});

describe('ip_to_uhugeint', () => {
  const cases: { description: string; input: string; value: bigint }[] = [
    { description: 'IPv4 as its 32-bit value', input: '1.2.3.4', value: 0x01020304n },
    { description: 'IPv4 maximum', input: '255.255.255.255', value: 0xffffffffn },
    { description: 'IPv6 as its 128-bit value', input: '2001:db8::1', value: 0x20010db8000000000000000000000001n },
    { description: 'IPv6 maximum', input: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', value: (1n << 128n) - 1n },
    { description: 'IPv4-mapped IPv6 is an IPv6 value', input: '::ffff:1.2.3.4', value: 0xffff01020304n },
  ];

  it.each(cases.map((c) => ({ ...c, sql: ipBatch.add(c.input) })))('$description: $input', async ({ input, value, sql }) => {
    const row = await sql();
    expect(row?.value).toBe(value.toString());
    expect(ipToBigInt(input)).toBe(value);
  });
});

describe('ip_is_public', () => {
  const cases: { description: string; input: string; isPublic: boolean }[] = [
    { description: '0/8', input: '0.1.2.3', isPublic: false },
    { description: 'just below 10/8', input: '9.255.255.255', isPublic: true },
    { description: '10/8', input: '10.0.0.0', isPublic: false },
    { description: 'end of 10/8', input: '10.255.255.255', isPublic: false },
    { description: 'just after 10/8', input: '11.0.0.0', isPublic: true },
    { description: 'below 100.64/10', input: '100.63.255.255', isPublic: true },
    { description: 'CGNAT 100.64/10 start', input: '100.64.0.0', isPublic: false },
    { description: 'CGNAT 100.64/10 end', input: '100.127.255.255', isPublic: false },
    { description: 'after 100.64/10', input: '100.128.0.0', isPublic: true },
    { description: 'loopback', input: '127.0.0.1', isPublic: false },
    { description: 'link-local v4', input: '169.254.10.1', isPublic: false },
    { description: 'below 172.16/12', input: '172.15.255.255', isPublic: true },
    { description: '172.16/12 start', input: '172.16.0.0', isPublic: false },
    { description: '172.16/12 end', input: '172.31.255.255', isPublic: false },
    { description: 'after 172.16/12', input: '172.32.0.0', isPublic: true },
    { description: 'documentation 192.0.2/24', input: '192.0.2.1', isPublic: false },
    { description: 'after 192.0.2/24', input: '192.0.3.1', isPublic: true },
    { description: '192.168/16', input: '192.168.1.1', isPublic: false },
    { description: 'benchmarking 198.18/15 start', input: '198.18.0.0', isPublic: false },
    { description: 'benchmarking 198.18/15 end', input: '198.19.255.255', isPublic: false },
    { description: 'after 198.18/15', input: '198.20.0.0', isPublic: true },
    { description: 'below 198.18/15', input: '198.17.255.255', isPublic: true },
    { description: 'documentation 198.51.100/24', input: '198.51.100.7', isPublic: false },
    { description: 'documentation 203.0.113/24', input: '203.0.113.9', isPublic: false },
    { description: 'public DNS', input: '8.8.8.8', isPublic: true },
    { description: 'last unicast before multicast', input: '223.255.255.255', isPublic: true },
    { description: 'multicast', input: '224.0.0.1', isPublic: false },
    { description: 'reserved 240/4', input: '240.0.0.1', isPublic: false },
    { description: 'broadcast', input: '255.255.255.255', isPublic: false },
    { description: 'IPv6 unspecified', input: '::', isPublic: false },
    { description: 'IPv6 loopback', input: '::1', isPublic: false },
    { description: 'IPv6 ::2 is not special here', input: '::2', isPublic: true },
    { description: 'ULA fc00::/7 start', input: 'fc00::1', isPublic: false },
    { description: 'ULA fc00::/7 end', input: 'fdff:ffff::1', isPublic: false },
    { description: 'below ULA', input: 'fbff::1', isPublic: true },
    { description: 'link-local v6', input: 'fe80::1', isPublic: false },
    { description: 'end of fe80::/10', input: 'febf:ffff::1', isPublic: false },
    { description: 'after fe80::/10', input: 'fec0::1', isPublic: true },
    { description: 'IPv6 multicast', input: 'ff02::1', isPublic: false },
    { description: 'documentation 2001:db8::/32', input: '2001:db8:1::1', isPublic: false },
    { description: 'after 2001:db8::/32', input: '2001:db9::1', isPublic: true },
    { description: 'global IPv6', input: '2606:4700::1111', isPublic: true },
    { description: 'IPv4-mapped private', input: '::ffff:10.0.0.1', isPublic: false },
    { description: 'IPv4-mapped public', input: '::ffff:8.8.8.8', isPublic: true },
  ];

  it('matches the table in SQL and TypeScript', async () => {
    const rows = await ipMacros(cases.map(({ input }) => input));
    expect(cases.map(({ description, input }, index) => ({ description, input, sql: rows[index]?.is_public, ts: ipIsPublic(input) }))).toEqual(
      cases.map(({ description, input, isPublic }) => ({ description, input, sql: isPublic, ts: isPublic })),
    );
  });
});

describe('cidr_start, cidr_end, cidr_prefix_len, cidr_family', () => {
  const v4 = (text: string) => ipToBigInt(text)!.toString();
  const cases: { description: string; input: string | null; expected: CidrRow }[] = [
    { description: 'IPv4 /8', input: '10.0.0.0/8', expected: { family: 4, prefix_len: 8, start: v4('10.0.0.0'), end: v4('10.255.255.255') } },
    { description: 'host bits are masked', input: '10.1.2.3/8', expected: { family: 4, prefix_len: 8, start: v4('10.0.0.0'), end: v4('10.255.255.255') } },
    { description: 'IPv4 /0', input: '0.0.0.0/0', expected: { family: 4, prefix_len: 0, start: '0', end: v4('255.255.255.255') } },
    { description: 'IPv4 /32', input: '1.2.3.4/32', expected: { family: 4, prefix_len: 32, start: v4('1.2.3.4'), end: v4('1.2.3.4') } },
    { description: 'a bare IPv4 is a /32', input: '1.2.3.4', expected: { family: 4, prefix_len: 32, start: v4('1.2.3.4'), end: v4('1.2.3.4') } },
    { description: 'IPv4 /31', input: '1.2.3.5/31', expected: { family: 4, prefix_len: 31, start: v4('1.2.3.4'), end: v4('1.2.3.5') } },
    {
      description: 'IPv6 /32',
      input: '2001:db8::/32',
      expected: { family: 6, prefix_len: 32, start: ipToBigInt('2001:db8::')!.toString(), end: ipToBigInt('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')!.toString() },
    },
    { description: 'IPv6 /0', input: '::/0', expected: { family: 6, prefix_len: 0, start: '0', end: ((1n << 128n) - 1n).toString() } },
    { description: 'a bare IPv6 is a /128', input: '::1', expected: { family: 6, prefix_len: 128, start: '1', end: '1' } },
    { description: 'IPv6 /127', input: '::3/127', expected: { family: 6, prefix_len: 127, start: '2', end: '3' } },
  ];
  const invalid: { description: string; input: string | null }[] = [
    { description: 'IPv4 prefix longer than 32', input: '1.2.3.4/33' },
    { description: 'IPv6 prefix longer than 128', input: '2001:db8::/129' },
    { description: 'negative prefix', input: '1.2.3.4/-1' },
    { description: 'prefix with a leading zero', input: '1.2.3.4/08' },
    { description: 'empty prefix', input: '1.2.3.4/' },
    { description: 'no address', input: '/8' },
    { description: 'two slashes', input: '1.2.3.0/24/8' },
    { description: 'bad address', input: '256.0.0.0/8' },
    { description: 'zone id', input: 'fe80::%eth0/64' },
    { description: 'empty', input: '' },
    { description: 'NULL', input: null },
  ];

  it.each(cases.map((c) => ({ ...c, sql: cidrBatch.add(c.input) })))('$description: $input', async ({ input, expected, sql }) => {
    expect(withoutOrdinal([await sql()])).toEqual([expected]);
    expect(cidrReference(input)).toEqual(expected);
  });

  it.each(invalid.map((c) => ({ ...c, sql: cidrBatch.add(c.input) })))('$description gives NULL: $input', async ({ input, sql }) => {
    const nulls = { family: null, prefix_len: null, start: null, end: null };
    expect(withoutOrdinal([await sql()])).toEqual([nulls]);
    expect(cidrReference(input)).toEqual(nulls);
  });
});

describe('SQL equals the TypeScript reference on generated input', () => {
  const batch = <T>(arbitrary: fc.Arbitrary<T>) => fc.array(arbitrary, { minLength: 1000, maxLength: 1000 });
  // IPv6 with many zero groups, written in full and in canonical form (which takes the SQL fast path)
  const zeroHeavyIpv6 = fc
    .tuple(fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), fc.boolean())
    .map(([groups, full]) => {
      const text = groups.map((group) => group.toString(16)).join(':');
      return full ? text : ipCanonical(text)!;
    });
  const ipText = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV6().map((text) => text.toUpperCase()),
    fc.ipV4().map((text) => `::ffff:${text}`),
    fc.ipV4Extended(),
    zeroHeavyIpv6,
  );
  const noise = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/ x'.split('')), maxLength: 24 });

  it('ip_canonical, ip_family, ip_to_hex, ip_to_uhugeint, ip_is_public', async () => {
    await fc.assert(
      fc.asyncProperty(batch(fc.oneof(ipText, noise)), async (inputs) => {
        expect(mismatches(inputs, withoutOrdinal(await ipMacros(inputs)), inputs.map(ipReference))).toEqual([]);
      }),
      { numRuns: 4, endOnFailure: true },
    );
  });

  it('cidr bounds, prefix length and family', async () => {
    const cidr = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 34 })).map(([ip, len]) => `${ip}/${len}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([ip, len]) => `${ip}/${len}`),
      fc.ipV4(),
      fc.ipV6(),
      noise,
    );
    await fc.assert(
      fc.asyncProperty(batch(cidr), async (inputs) => {
        expect(mismatches(inputs, withoutOrdinal(await cidrMacros(inputs)), inputs.map(cidrReference))).toEqual([]);
      }),
      { numRuns: 2, endOnFailure: true },
    );
  });

  it('the IPv6 canonical text agrees with the WHATWG URL serializer (except IPv4-mapped, which RFC 5952 writes dotted)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const expected = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        const canonical = ipCanonical(text)!;
        if (canonical.startsWith('::ffff:') && canonical.includes('.')) return;
        expect(canonical).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
