import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';
import { communityIdV1 } from '../../lib/net/community-id.ts';
import { AwsVpcCommunityIds } from '../../lib/sources/aws-vpc-community-ids.ts';
import { normalizeFiles } from '../../lib/sources/normalize-file.ts';

const SEED = Number(process.env.NETFLOW_TEST_SEED ?? 20261128);
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
// Field order of a custom format: the addresses after the ports, the protocol last.
const CUSTOM = 'version srcport dstport account-id start end packets bytes action log-status interface-id dstaddr srcaddr protocol';

/** Address texts as flow logs carry them, valid and not: plain, IPv6 forms, IPv4-mapped, leading zeros, junk. */
const addressArb = fc.oneof(
  { arbitrary: fc.ipV4(), weight: 12 },
  { arbitrary: fc.ipV6(), weight: 2 },
  fc.ipV4().map((v4) => `::ffff:${v4}`),
  fc.ipV4().map((v4) => v4.replace(/^(\d)\./, '0$1.')),
  fc.constantFrom('-', '10.0.0.256', '1.2.3', '2001:db8::1::2', 'fe80::1%eth0', '2001:DB8::A', '10.0.0.1 '),
);
const portArb = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 65535 }).map(String), weight: 20 }, fc.constantFrom('-', '00443', '65536', '-1', '1e3', '0x10'));
const protocolArb = fc.oneof({ arbitrary: fc.constantFrom('6', '17', '1', '58', '132', '47', '0', '255'), weight: 10 }, fc.constantFrom('-', '256', '006'));
const recordArb = fc.record({ src: addressArb, dst: addressArb, srcPort: portArb, dstPort: portArb, protocol: protocolArb });
type GeneratedRecord = typeof recordArb extends fc.Arbitrary<infer T> ? T : never;

function defaultLine(r: GeneratedRecord, index: number): string {
  return `2 123456789012 eni-${index} ${r.src} ${r.dst} ${r.srcPort} ${r.dstPort} ${r.protocol} 10 840 1714568400 1714568459 ACCEPT OK`;
}

function customLine(r: GeneratedRecord, index: number): string {
  return `5 ${r.srcPort} ${r.dstPort} 123456789012 1714568400 1714568459 10 840 ACCEPT OK eni-${index} ${r.dst} ${r.src} ${r.protocol}`;
}

describe('AWS VPC Community IDs computed while staging', () => {
  let dir: string;
  let session: DuckDbSession;
  const records = fc.sample(recordArb, { seed: SEED, numRuns: 3000 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-aws-cid-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '512MB', maxTempDirectorySize: '256MB' });
    for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  });
  afterAll(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every published flow the id the SQL macro gives it, whichever path computed it', async () => {
    console.log(`[aws-vpc-community-ids] seed ${SEED}, ${records.length} records per file`);
    await writeFile(path.join(dir, 'with-header.log'), [HEADER, ...records.map(defaultLine)].join('\n'));
    await writeFile(path.join(dir, 'custom-header.log'), [CUSTOM, ...records.map(customLine)].join('\n'));
    // No header: the configured format applies (a Firehose or CloudWatch delivery).
    await writeFile(path.join(dir, 'configured-format.log'), records.map(customLine).join('\n'));
    await writeFile(path.join(dir, 'cloudwatch.log'), records.map((r, index) => `2024-05-01T13:00:00.000Z ${customLine(r, index)}`).join('\n'));
    const results = await normalizeFiles(
      ['with-header.log', 'custom-header.log', 'configured-format.log', 'cloudwatch.log'].map((name) => ({ file: path.join(dir, name), sourceType: 'aws_vpc' as const, objectKey: name })),
      { awsVpcFormat: CUSTOM, collectRows: true, threads: 2 },
    );
    for (const result of results) {
      const rows = (result.rows ?? []).map(({ src_ip, dst_ip, src_port, dst_port, protocol, community_id }) => ({ src_ip, dst_ip, src_port, dst_port, protocol, community_id }));
      expect(rows.length, result.objectKey).toBeGreaterThan(records.length / 10);
      await session.run(`CREATE OR REPLACE TABLE published AS SELECT * FROM read_json(${sqlString(await writeRows(rows))}, format = 'newline_delimited')`);
      const [check] = await session.all<{ flows: bigint; with_id: bigint; differing: bigint }>(`
        SELECT count(*) AS flows, count(community_id) AS with_id,
          count(*) FILTER (WHERE community_id IS DISTINCT FROM community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol)) AS differing
        FROM published`);
      expect(check!.differing, result.objectKey).toBe(0n);
      expect(check!.with_id, result.objectKey).toBeGreaterThan(0n);
    }
  });

  it('annotates a plain record with the reference id, and leaves the rest to SQL', () => {
    let annotated = 0;
    for (const [index, r] of records.entries()) {
      const annotator = new AwsVpcCommunityIds();
      const line = Buffer.from(defaultLine(r, index));
      expect(annotator.annotate(Buffer.from(HEADER), 0, HEADER.length)).toBe('');
      const id = annotator.annotate(line, 0, line.length);
      if (id === '') continue;
      annotated++;
      const port = (text: string) => Number(text);
      expect(id, JSON.stringify(r)).toBe(communityIdV1({ srcIp: r.src, dstIp: r.dst, srcPort: port(r.srcPort), dstPort: port(r.dstPort), protocol: Number(r.protocol) }));
    }
    expect(annotated).toBeGreaterThan(records.length / 10);
  });

  async function writeRows(rows: Record<string, unknown>[]): Promise<string> {
    const file = path.join(dir, `rows-${Math.random().toString(36).slice(2)}.ndjson`);
    await writeFile(file, rows.map((row) => JSON.stringify(row)).join('\n'));
    return file;
  }
});
