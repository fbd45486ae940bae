import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityIdV1, ICMP_COUNTERPARTS, PROTO_ICMP, PROTO_ICMPV6, type FlowTuple } from '../../lib/net/community-id.ts';
import { CaseBatch, openMacroDb, valuesTable, type MacroDb } from './macro-db.ts';

let db: MacroDb;
beforeAll(async () => {
  db = await openMacroDb();
});
afterAll(() => db?.close());

interface Case extends FlowTuple {
  seed?: number | null;
}

/** community_id_v1_seeded over each case (seed 0 unless given), in input order. */
async function sqlIds(cases: Case[]): Promise<(string | null)[]> {
  const rows = await db.all<{ id: string | null }>(`
    SELECT i, community_id_v1_seeded(seed, src_ip, dst_ip, src_port, dst_port, protocol) AS id
    FROM ${valuesTable(
      'cases',
      ['seed', 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol'],
      cases.map((c) => [c.seed === undefined ? 0 : c.seed, c.srcIp, c.dstIp, c.srcPort, c.dstPort, c.protocol]),
    )}
    ORDER BY i`);
  return rows.map((row) => row.id);
}

/** The table-driven cases below, all computed in one query. */
const idBatch = new CaseBatch<Case, string | null>(sqlIds);

function tsIds(cases: Case[]): (string | null)[] {
  return cases.map(({ seed, ...tuple }) => communityIdV1(tuple, seed === undefined ? 0 : seed));
}

function reversed(tuple: FlowTuple): FlowTuple {
  return { srcIp: tuple.dstIp, dstIp: tuple.srcIp, srcPort: tuple.dstPort, dstPort: tuple.srcPort, protocol: tuple.protocol };
}

/**
 * Published vectors: the tables of corelight/community-id-spec baseline/README.md (default and
 * seed=1), baseline/baseline_deflt.json and baseline_seed1.json (flows of the spec's pcaps), and
 * pycommunityid's unit tests.
 */
const SPEC_VECTORS: { description: string; tuple: FlowTuple; seed0: string; seed1: string }[] = [
  {
    description: 'TCP, out',
    tuple: { protocol: 6, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 },
    seed0: '1:wCb3OG7yAFWelaUydu0D+125CLM=',
    seed1: '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=',
  },
  {
    description: 'TCP, back',
    tuple: { protocol: 6, srcIp: '5.6.7.8', dstIp: '1.2.3.4', srcPort: 3344, dstPort: 1122 },
    seed0: '1:wCb3OG7yAFWelaUydu0D+125CLM=',
    seed1: '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=',
  },
  {
    description: 'UDP, out',
    tuple: { protocol: 17, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 },
    seed0: '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=',
    seed1: '1:OShq+iKDAMVouh/4bMxB9Sz4amw=',
  },
  {
    description: 'UDP, back',
    tuple: { protocol: 17, srcIp: '5.6.7.8', dstIp: '1.2.3.4', srcPort: 3344, dstPort: 1122 },
    seed0: '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=',
    seed1: '1:OShq+iKDAMVouh/4bMxB9Sz4amw=',
  },
  {
    description: 'SCTP, out',
    tuple: { protocol: 132, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 },
    seed0: '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=',
    seed1: '1:uitchpn5MMGAQKBJh7bIr/bAr7s=',
  },
  {
    description: 'SCTP, back',
    tuple: { protocol: 132, srcIp: '5.6.7.8', dstIp: '1.2.3.4', srcPort: 3344, dstPort: 1122 },
    seed0: '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=',
    seed1: '1:uitchpn5MMGAQKBJh7bIr/bAr7s=',
  },
  {
    description: 'ICMP echo request',
    tuple: { protocol: 1, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 8, dstPort: 0 },
    seed0: '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=',
    seed1: '1:9pr4ZGTICiuZoIh90RRYE2RyXpU=',
  },
  {
    description: 'ICMP echo reply',
    tuple: { protocol: 1, srcIp: '5.6.7.8', dstIp: '1.2.3.4', srcPort: 0, dstPort: 0 },
    seed0: '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=',
    seed1: '1:9pr4ZGTICiuZoIh90RRYE2RyXpU=',
  },
  {
    description: 'ICMP time exceeded (one-way)',
    tuple: { protocol: 1, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 11, dstPort: 0 },
    seed0: '1:f/YiSyWqczrTgfUCZlBUnvHRcPk=',
    seed1: '1:1DD7cWGC/Yg91YGsQeni8du3pIA=',
  },
  {
    description: 'ICMPv6 echo request',
    tuple: { protocol: 58, srcIp: 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', dstIp: 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', srcPort: 128, dstPort: 0 },
    seed0: '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=',
    seed1: '1:IO27GQzPuCtNnwFvjWALMHu5tJE=',
  },
  {
    description: 'ICMPv6 echo reply',
    tuple: { protocol: 58, srcIp: 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', dstIp: 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', srcPort: 129, dstPort: 0 },
    seed0: '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=',
    seed1: '1:IO27GQzPuCtNnwFvjWALMHu5tJE=',
  },
  {
    description: 'ICMPv6 type 146 (one-way)',
    tuple: { protocol: 58, srcIp: 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', dstIp: 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', srcPort: 146, dstPort: 0 },
    seed0: '1:fYC8+pz24E+EhANP1EZhpX0Dw10=',
    seed1: '1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=',
  },
  {
    description: 'RSVP (no ports), out',
    tuple: { protocol: 46, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: null, dstPort: null },
    seed0: '1:ikv3kmf89luf73WPz1jOs49S768=',
    seed1: '1:/buhqeOmaRCopOZFy9HnoJd5XW8=',
  },
  {
    description: 'RSVP (no ports), back',
    tuple: { protocol: 46, srcIp: '5.6.7.8', dstIp: '1.2.3.4', srcPort: null, dstPort: null },
    seed0: '1:ikv3kmf89luf73WPz1jOs49S768=',
    seed1: '1:/buhqeOmaRCopOZFy9HnoJd5XW8=',
  },
  {
    description: 'RSVP over IPv6, out',
    tuple: { protocol: 46, srcIp: 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', dstIp: 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', srcPort: null, dstPort: null },
    seed0: '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=',
    seed1: '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=',
  },
  {
    description: 'RSVP over IPv6, back',
    tuple: { protocol: 46, srcIp: 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D', dstIp: 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D', srcPort: null, dstPort: null },
    seed0: '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=',
    seed1: '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=',
  },
  // baseline_deflt.json / baseline_seed1.json (the spec's pcaps)
  {
    description: 'pcap: ICMPv6 neighbor solicitation',
    tuple: { protocol: 58, srcIp: 'fe80::200:86ff:fe05:80da', dstIp: 'fe80::260:97ff:fe07:69ea', srcPort: 135, dstPort: 136 },
    seed0: '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
    seed1: '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=',
  },
  {
    description: 'pcap: ICMPv6 neighbor advertisement back',
    tuple: { protocol: 58, srcIp: 'fe80::260:97ff:fe07:69ea', dstIp: 'fe80::200:86ff:fe05:80da', srcPort: 136, dstPort: 135 },
    seed0: '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
    seed1: '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=',
  },
  {
    description: 'pcap: ICMPv6 neighbor solicitation the other way',
    tuple: { protocol: 58, srcIp: 'fe80::260:97ff:fe07:69ea', dstIp: 'fe80::200:86ff:fe05:80da', srcPort: 135, dstPort: 136 },
    seed0: '1:zavyT/cezQr1fmImYCwYnMXbgck=',
    seed1: '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=',
  },
  {
    description: 'pcap: ICMPv6 neighbor advertisement, other way back',
    tuple: { protocol: 58, srcIp: 'fe80::200:86ff:fe05:80da', dstIp: 'fe80::260:97ff:fe07:69ea', srcPort: 136, dstPort: 135 },
    seed0: '1:zavyT/cezQr1fmImYCwYnMXbgck=',
    seed1: '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=',
  },
  {
    description: 'pcap: ICMPv6 time exceeded',
    tuple: { protocol: 58, srcIp: '3ffe:501:1800:2345::2', dstIp: '3ffe:507:0:1:200:86ff:fe05:80da', srcPort: 3, dstPort: 0 },
    seed0: '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=',
    seed1: '1:lVEtCZpYu84Xqaa++3lXFyuu2n4=',
  },
  {
    description: 'pcap: ICMPv6 destination unreachable',
    tuple: { protocol: 58, srcIp: '3ffe:501:410:0:2c0:dfff:fe47:33e', dstIp: '3ffe:507:0:1:200:86ff:fe05:80da', srcPort: 1, dstPort: 4 },
    seed0: '1:hLZd0XGWojozrvxqE0dWB1iM6R0=',
    seed1: '1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=',
  },
  {
    description: 'pcap: ICMPv6 echo request',
    tuple: { protocol: 58, srcIp: '3ffe:507:0:1:200:86ff:fe05:80da', dstIp: '3ffe:501:0:1001::2', srcPort: 128, dstPort: 129 },
    seed0: '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
    seed1: '1:GfZxjAkDk2MkegpBYHV6tadtFXQ=',
  },
  {
    description: 'pcap: ICMPv6 echo reply',
    tuple: { protocol: 58, srcIp: '3ffe:501:0:1001::2', dstIp: '3ffe:507:0:1:200:86ff:fe05:80da', srcPort: 129, dstPort: 128 },
    seed0: '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
    seed1: '1:GfZxjAkDk2MkegpBYHV6tadtFXQ=',
  },
  {
    description: 'pcap: ICMPv6 router solicitation to multicast',
    tuple: { protocol: 58, srcIp: 'fe80::200:86ff:fe05:80da', dstIp: 'ff02::2', srcPort: 133, dstPort: 134 },
    seed0: '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=',
    seed1: '1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=',
  },
  {
    description: 'pcap: ICMPv6 router advertisement to multicast',
    tuple: { protocol: 58, srcIp: 'fe80::260:97ff:fe07:69ea', dstIp: 'ff02::1', srcPort: 134, dstPort: 133 },
    seed0: '1:pkvHqCL88/tg1k4cPigmZXUtL00=',
    seed1: '1:K/ee5UCqAMAQXDorP5nSa2CGLjc=',
  },
  {
    description: 'pcap: ICMP echo request',
    tuple: { protocol: 1, srcIp: '192.168.0.89', dstIp: '192.168.0.1', srcPort: 8, dstPort: 0 },
    seed0: '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=',
    seed1: '1:03g6IloqVBdcZlPyX8r0hgoE7kA=',
  },
  {
    description: 'pcap: ICMP echo reply',
    tuple: { protocol: 1, srcIp: '192.168.0.1', dstIp: '192.168.0.89', srcPort: 0, dstPort: 8 },
    seed0: '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=',
    seed1: '1:03g6IloqVBdcZlPyX8r0hgoE7kA=',
  },
  {
    description: 'pcap: ICMP time exceeded',
    tuple: { protocol: 1, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 11, dstPort: 0 },
    seed0: '1:YHxtAirCG//0OzkcVAukqKQN9xM=',
    seed1: '1:XjUibYHaafLQ3pxQeiMI8g25q20=',
  },
  {
    description: 'pcap: TCP over IPv6, out',
    tuple: { protocol: 6, srcIp: '2001:470:e5bf:dead:4957:2174:e82c:4887', dstIp: '2607:f8b0:400c:c03::1a', srcPort: 63943, dstPort: 25 },
    seed0: '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
    seed1: '1:eJYTW6AOzFLlSUoESovMjnu7rMw=',
  },
  {
    description: 'pcap: TCP over IPv6, back',
    tuple: { protocol: 6, srcIp: '2607:f8b0:400c:c03::1a', dstIp: '2001:470:e5bf:dead:4957:2174:e82c:4887', srcPort: 25, dstPort: 63943 },
    seed0: '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
    seed1: '1:eJYTW6AOzFLlSUoESovMjnu7rMw=',
  },
  {
    description: 'pcap: SCTP, out',
    tuple: { protocol: 132, srcIp: '192.168.170.8', dstIp: '192.168.170.56', srcPort: 7, dstPort: 7 },
    seed0: '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=',
    seed1: '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=',
  },
  {
    description: 'pcap: SCTP, back',
    tuple: { protocol: 132, srcIp: '192.168.170.56', dstIp: '192.168.170.8', srcPort: 7, dstPort: 7 },
    seed0: '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=',
    seed1: '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=',
  },
  {
    description: 'pcap: TCP, out',
    tuple: { protocol: 6, srcIp: '128.232.110.120', dstIp: '66.35.250.204', srcPort: 34855, dstPort: 80 },
    seed0: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    seed1: '1:3V71V58M3Ksw/yuFALMcW0LAHvc=',
  },
  {
    description: 'pcap: TCP, back',
    tuple: { protocol: 6, srcIp: '66.35.250.204', dstIp: '128.232.110.120', srcPort: 80, dstPort: 34855 },
    seed0: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    seed1: '1:3V71V58M3Ksw/yuFALMcW0LAHvc=',
  },
  {
    description: 'pcap: UDP DNS query',
    tuple: { protocol: 17, srcIp: '192.168.1.52', dstIp: '8.8.8.8', srcPort: 54585, dstPort: 53 },
    seed0: '1:d/FP5EW3wiY1vCndhwleRRKHowQ=',
    seed1: '1:Q9We8WO3piVF8yEQBNJF4uiSVrI=',
  },
  {
    description: 'pcap: UDP DNS answer',
    tuple: { protocol: 17, srcIp: '8.8.8.8', dstIp: '192.168.1.52', srcPort: 53, dstPort: 54585 },
    seed0: '1:d/FP5EW3wiY1vCndhwleRRKHowQ=',
    seed1: '1:Q9We8WO3piVF8yEQBNJF4uiSVrI=',
  },
  {
    description: 'pcap: RSVP, out',
    tuple: { protocol: 46, srcIp: '10.1.12.1', dstIp: '10.1.12.2', srcPort: null, dstPort: null },
    seed0: '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=',
    seed1: '1:rYir8gphR31noO9iDRQmF/BteEI=',
  },
  {
    description: 'pcap: RSVP, back',
    tuple: { protocol: 46, srcIp: '10.1.12.2', dstIp: '10.1.12.1', srcPort: null, dstPort: null },
    seed0: '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=',
    seed1: '1:rYir8gphR31noO9iDRQmF/BteEI=',
  },
  // pycommunityid tests/communityid_test.py
  {
    description: 'ICMP type 20 is one-way: the code is hashed',
    tuple: { protocol: 1, srcIp: '192.168.0.89', dstIp: '192.168.0.1', srcPort: 20, dstPort: 0 },
    seed0: '1:3o2RFccXzUgjl7zDpqmY7yJi8rI=',
    seed1: '1:lCXHHxavE1Vq3oX9NH5ladQg02o=',
  },
  {
    description: 'ICMP type 20 with code 1',
    tuple: { protocol: 1, srcIp: '192.168.0.89', dstIp: '192.168.0.1', srcPort: 20, dstPort: 1 },
    seed0: '1:tz/fHIDUHs19NkixVVoOZywde+I=',
    seed1: '1:Ie3wmFyxiEyikbsbcO03d2nh+PM=',
  },
  {
    description: 'ICMP echo reply ignores its code',
    tuple: { protocol: 1, srcIp: '192.168.0.1', dstIp: '192.168.0.89', srcPort: 0, dstPort: 20 },
    seed0: '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=',
    seed1: '1:03g6IloqVBdcZlPyX8r0hgoE7kA=',
  },
  {
    description: 'ICMPv6 time exceeded, one direction',
    tuple: { protocol: 58, srcIp: '3ffe:507:0:1:260:97ff:fe07:69ea', dstIp: '3ffe:507:0:1:200:86ff:fe05:80da', srcPort: 3, dstPort: 0 },
    seed0: '1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=',
    seed1: '1:OlOWx9psIbBFi7lOCw/4MhlKR9M=',
  },
  {
    description: 'ICMPv6 time exceeded, other direction differs',
    tuple: { protocol: 58, srcIp: '3ffe:507:0:1:200:86ff:fe05:80da', dstIp: '3ffe:507:0:1:260:97ff:fe07:69ea', srcPort: 3, dstPort: 0 },
    seed0: '1:/OGBt9BN1ofenrmSPWYicpij2Vc=',
    seed1: '1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE=',
  },
  {
    description: 'SCTP with different ports, out',
    tuple: { protocol: 132, srcIp: '192.168.170.8', dstIp: '192.168.170.56', srcPort: 7, dstPort: 80 },
    seed0: '1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=',
    seed1: '1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=',
  },
  {
    description: 'SCTP with different ports, back',
    tuple: { protocol: 132, srcIp: '192.168.170.56', dstIp: '192.168.170.8', srcPort: 80, dstPort: 7 },
    seed0: '1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=',
    seed1: '1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU=',
  },
  {
    description: 'TCP with a low source port (pycommunityid issue 3)',
    tuple: { protocol: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 10, dstPort: 11569 },
    seed0: '1:SXBGMX1lBOwhhoDrZynfROxnhnM=',
    seed1: '1:HmBRGR+fUyXF4t8WEtal7Y0gEAo=',
  },
  {
    description: 'RSVP, larger address first',
    tuple: { protocol: 46, srcIp: '10.1.24.4', dstIp: '10.1.12.1', srcPort: null, dstPort: null },
    seed0: '1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=',
    seed1: '1:BK3BVW3U2eemuwVQVN3zd/GULno=',
  },
];

describe('published Community ID vectors', () => {
  const vectors = SPEC_VECTORS.map((vector) => ({ ...vector, sqlSeed0: idBatch.add(vector.tuple), sqlSeed1: idBatch.add({ ...vector.tuple, seed: 1 }) }));
  it.each(vectors)('$description', async ({ tuple, sqlSeed0, sqlSeed1, seed0, seed1 }) => {
    expect([await sqlSeed0(), await sqlSeed1()]).toEqual([seed0, seed1]);
    expect(tsIds([tuple, { ...tuple, seed: 1 }])).toEqual([seed0, seed1]);
  });

  it('community_id_v1 is the seeded macro with seed 0', async () => {
    const rows = await db.all<{ id: string }>(`SELECT community_id_v1('1.2.3.4', '5.6.7.8', 1122, 3344, 6) AS id`);
    expect(rows).toEqual([{ id: '1:wCb3OG7yAFWelaUydu0D+125CLM=' }]);
  });
});

describe('NULL instead of an error', () => {
  const tcp = { protocol: 6, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 };
  const cases: { description: string; tuple: Case }[] = [
    { description: 'invalid source address', tuple: { ...tcp, srcIp: '256.1.1.1' } },
    { description: 'invalid destination address', tuple: { ...tcp, dstIp: '::1::' } },
    { description: 'address with a leading zero', tuple: { ...tcp, srcIp: '01.2.3.4' } },
    { description: 'NULL address', tuple: { ...tcp, dstIp: null } },
    { description: 'empty address', tuple: { ...tcp, srcIp: '' } },
    { description: 'mixed address families', tuple: { ...tcp, dstIp: '::ffff:5.6.7.8' } },
    { description: 'IPv6 with a zone id', tuple: { ...tcp, srcIp: 'fe80::1%eth0', dstIp: 'fe80::2' } },
    { description: 'TCP without a source port', tuple: { ...tcp, srcPort: null } },
    { description: 'TCP without a destination port', tuple: { ...tcp, dstPort: null } },
    { description: 'port above 65535', tuple: { ...tcp, dstPort: 65536 } },
    { description: 'negative port', tuple: { ...tcp, srcPort: -1 } },
    { description: 'ICMP without a type', tuple: { ...tcp, protocol: 1, srcPort: null, dstPort: 0 } },
    { description: 'ICMP echo without a code', tuple: { ...tcp, protocol: 1, srcPort: 8, dstPort: null } },
    { description: 'protocol above 255', tuple: { ...tcp, protocol: 262 } },
    { description: 'negative protocol', tuple: { ...tcp, protocol: -6 } },
    { description: 'NULL protocol', tuple: { ...tcp, protocol: null } },
    { description: 'seed above 65535', tuple: { ...tcp, seed: 65536 } },
    { description: 'NULL seed', tuple: { ...tcp, seed: null } },
  ];

  it.each(cases.map((c) => ({ ...c, sqlId: idBatch.add(c.tuple) })))('$description', async ({ tuple, sqlId }) => {
    expect(await sqlId()).toBeNull();
    expect(tsIds([tuple])).toEqual([null]);
  });

  it('ports are ignored, even when invalid, for protocols without ports', async () => {
    const rsvp = { protocol: 46, srcIp: '1.2.3.4', dstIp: '5.6.7.8' };
    const cases = [
      { ...rsvp, srcPort: null, dstPort: null },
      { ...rsvp, srcPort: 5, dstPort: 6 },
      { ...rsvp, srcPort: -1, dstPort: 70000 },
    ];
    expect(await sqlIds(cases)).toEqual(Array(3).fill('1:ikv3kmf89luf73WPz1jOs49S768='));
    expect(tsIds(cases)).toEqual(Array(3).fill('1:ikv3kmf89luf73WPz1jOs49S768='));
  });
});

describe('the ICMP counterpart table', () => {
  it('pairs every two-way type with a counterpart that maps back', () => {
    for (const table of Object.values(ICMP_COUNTERPARTS)) {
      for (const [type, counterpart] of table) expect(table.get(counterpart)).toBe(type);
    }
  });

  it('is the same in SQL and TypeScript for every type, code and direction', async () => {
    const cases: FlowTuple[] = [];
    for (const [protocol, srcIp, dstIp] of [
      [PROTO_ICMP, '10.0.0.1', '10.0.0.2'],
      [PROTO_ICMPV6, 'fe80::1', 'fe80::2'],
      [PROTO_ICMPV6, '10.0.0.1', '10.0.0.2'],
      [PROTO_ICMP, '2001:db8::2', '2001:db8::1'],
    ] as const) {
      for (let type = 0; type < 256; type++) {
        for (const code of [0, 3]) {
          const tuple = { protocol, srcIp, dstIp, srcPort: type, dstPort: code };
          cases.push(tuple, reversed(tuple));
        }
      }
    }
    expect(await sqlIds(cases)).toEqual(tsIds(cases));
  });

  it('gives a request and its reply the same id, and a one-way message a direction', async () => {
    const echo = { protocol: PROTO_ICMP, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 8, dstPort: 0 };
    const reply = { protocol: PROTO_ICMP, srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 0, dstPort: 0 };
    const unreachable = { protocol: PROTO_ICMP, srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 3, dstPort: 1 };
    const [echoId, replyId, unreachableId, unreachableBack] = await sqlIds([echo, reply, unreachable, reversed(unreachable)]);
    expect(replyId).toBe(echoId);
    expect(unreachableBack).not.toBe(unreachableId);
  });
});

describe('SQL equals the TypeScript reference on generated flows', () => {
  const port = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 65535 }) }, fc.constantFrom(0, 65535, 65536, -1), fc.constant(null));
  const protocol = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(1, 6, 17, 58, 132) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) }, fc.constantFrom(256, -1, null));
  // IPv6 forms beyond the canonical one: uppercase, dotted tails, expanded zeros.
  const ipv6 = fc.oneof(
    fc.ipV6(),
    fc.ipV6().map((text) => text.toUpperCase()),
    fc.ipV4().map((text) => `::ffff:${text}`),
  );
  // Pairs within one family, including equal addresses (ordered by port) and shared prefixes.
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.ipV4(), fc.ipV4()) },
    { weight: 3, arbitrary: fc.tuple(ipv6, ipv6) },
    fc.ipV4().map((ip) => [ip, ip] as [string, string]),
    fc.ipV6().map((ip) => [ip, ip] as [string, string]),
    fc.tuple(fc.ipV4(), fc.ipV6()),
    fc.tuple(fc.ipV4Extended(), fc.ipV4()),
  );
  const tuple = fc.record({ pair, srcPort: port, dstPort: port, protocol }).map(({ pair: [srcIp, dstIp], ...rest }): FlowTuple => ({ srcIp, dstIp, ...rest }));
  const seeded = fc.tuple(tuple, fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 0, max: 65535 }))).map(([t, seed]): Case => ({ ...t, seed }));

  it('community_id_v1_seeded, and both directions agree where the flow is two-way', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(seeded, { minLength: 1500, maxLength: 1500 }), async (cases) => {
        const backwards = cases.map((c) => ({ ...reversed(c), seed: c.seed }));
        const [sql, sqlBack] = [await sqlIds(cases), await sqlIds(backwards)];
        const ts = tsIds(cases);
        const disagreements = cases.map((c, index) => ({ c, sql: sql[index], ts: ts[index] })).filter(({ sql, ts }) => sql !== ts);
        expect(disagreements.slice(0, 5)).toEqual([]);
        const oneWay = (c: Case) => c.protocol === PROTO_ICMP || c.protocol === PROTO_ICMPV6;
        const asymmetric = cases.map((c, index) => ({ c, out: sql[index], back: sqlBack[index] })).filter(({ c, out, back }) => !oneWay(c) && out !== back);
        expect(asymmetric.slice(0, 5)).toEqual([]);
      }),
      { numRuns: 3, endOnFailure: true },
    );
  });
});
