import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_VPC_DEFAULT_FORMAT, AWS_VPC_FIELDS, type AwsVpcField } from '../../schemas/sources/aws-vpc.ts';
import { communityIdV1 } from '../../lib/net/community-id.ts';
import { ipCanonical } from '../../lib/net/ip.ts';
import { AwsVpcLineTyper } from '../../lib/sources/aws-vpc-line-typer.ts';
import { normalizeFiles, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { stageLines, typedPathOf, type TypedRow } from '../../lib/staging/stage-lines.ts';
import { DuckDBInstance } from '@duckdb/node-api';

const SEED = Number(process.env.NETFLOW_TEST_SEED ?? 20261128);
const RECORDS = 3000;

/** Field values as flow logs carry them, mostly valid, with every kind of wrong value the model checks. */
const address = fc.oneof(
  { arbitrary: fc.ipV4(), weight: 30 },
  { arbitrary: fc.ipV6(), weight: 3 },
  fc.ipV4().map((v4) => `::ffff:${v4}`),
  fc.ipV4().map((v4) => v4.replace(/^(\d)\./, '0$1.')),
  fc.constantFrom('-', '10.0.0.256', '1.2.3', '2001:db8::1::2', 'fe80::1%eth0', '2001:DB8::A', '2001:db8:0:0:0:0:0:1'),
);
const integerText = (min: number, max: number, wrong: string[]) => fc.oneof({ arbitrary: fc.integer({ min, max }).map(String), weight: 30 }, fc.constantFrom('-', ...wrong));
const FIELD_VALUES: Record<AwsVpcField, fc.Arbitrary<string>> = {
  version: fc.oneof({ arbitrary: fc.constantFrom('2', '3', '5', '10'), weight: 30 }, fc.constantFrom('-', '02', '1', '11', 'v2')),
  'account-id': fc.oneof({ arbitrary: fc.constant('123456789012'), weight: 30 }, fc.constantFrom('-', 'unknown')),
  'interface-id': fc.oneof({ arbitrary: fc.integer({ min: 0, max: 99 }).map((n) => `eni-0${n}`), weight: 30 }, fc.constantFrom('-', 'eni-é')),
  srcaddr: address,
  dstaddr: address,
  srcport: integerText(0, 65535, ['00443', '65536', '-1', '1e3', '0x10', '0000000000000000080']),
  dstport: integerText(0, 65535, ['00443', '65536', '-1']),
  protocol: fc.oneof({ arbitrary: fc.constantFrom('6', '17', '1', '58', '132', '47', '0', '255'), weight: 30 }, fc.constantFrom('-', '256', '006', 'tcp')),
  packets: integerText(0, 10_000_000, ['-5', '1234567890123456', '12345678901234567', '9999999999999999999', '1.5']),
  bytes: integerText(0, 2_000_000_000, ['-5', '123456789012345678', 'x']),
  start: integerText(1714568400, 1714571999, ['99', '5000000000', '0946684800', '946684799']),
  end: integerText(1714568400, 1714571999, ['99', '4102444801', '4102444800']),
  action: fc.oneof({ arbitrary: fc.constantFrom('ACCEPT', 'REJECT'), weight: 30 }, fc.constantFrom('-', 'accept', 'DROP')),
  'log-status': fc.oneof({ arbitrary: fc.constant('OK'), weight: 40 }, fc.constantFrom('-', 'NODATA', 'SKIPDATA', 'ok', 'BAD')),
  'vpc-id': fc.constantFrom('vpc-0a1b', '-', 'vpc-x'),
  'subnet-id': fc.constantFrom('subnet-01', '-'),
  'instance-id': fc.constantFrom('i-0123', '-'),
  'tcp-flags': integerText(0, 255, ['256', '-2', '0x02']),
  type: fc.oneof({ arbitrary: fc.constantFrom('IPv4', 'IPv6', 'EFA'), weight: 30 }, fc.constantFrom('-', 'ipv4')),
  'pkt-srcaddr': address,
  'pkt-dstaddr': address,
  region: fc.constantFrom('us-east-1', 'eu-west-1', '-'),
  'az-id': fc.constantFrom('use1-az1', '-'),
  'sublocation-type': fc.constantFrom('wavelength', 'outpost', '-'),
  'sublocation-id': fc.constantFrom('op-1', '-'),
  'pkt-src-aws-service': fc.constantFrom('S3', 'AMAZON', '-'),
  'pkt-dst-aws-service': fc.constantFrom('DYNAMODB', '-'),
  'flow-direction': fc.oneof({ arbitrary: fc.constantFrom('ingress', 'egress'), weight: 30 }, fc.constantFrom('-', 'in')),
  'traffic-path': integerText(1, 8, ['0', '9']),
  'ecs-cluster-arn': fc.constantFrom('arn:aws:ecs:us-east-1:123456789012:cluster/c1', '-'),
  'ecs-cluster-name': fc.constantFrom('c1', '-'),
  'ecs-container-instance-arn': fc.constantFrom('arn:aws:ecs:us-east-1:123456789012:container-instance/x', '-'),
  'ecs-container-instance-id': fc.constantFrom('ci-1', '-'),
  'ecs-container-id': fc.constantFrom('cont-1', '-'),
  'ecs-second-container-id': fc.constantFrom('cont-2', '-'),
  'ecs-service-name': fc.constantFrom('svc', '-'),
  'ecs-task-definition-arn': fc.constantFrom('arn:aws:ecs:us-east-1:123456789012:task-definition/t:1', '-'),
  'ecs-task-arn': fc.constantFrom('arn:aws:ecs:us-east-1:123456789012:task/c1/abc', '-'),
  'ecs-task-id': fc.constantFrom('abc', '-'),
  'reject-reason': fc.constantFrom('BPA', '-'),
  'resource-id': fc.constantFrom('tgw-0a', '-'),
  'encryption-status': integerText(0, 3, ['4']),
  'resource-type': fc.oneof({ arbitrary: fc.constantFrom('TransitGateway', 'TransitGatewayAttachment'), weight: 10 }, fc.constantFrom('-', 'transitgateway')),
  'tgw-id': fc.constantFrom('tgw-0a1b2c3d', '-'),
  'tgw-attachment-id': fc.constantFrom('tgw-attach-0a1b', '-'),
  'tgw-src-vpc-account-id': fc.constantFrom('123456789012', '-'),
  'tgw-dst-vpc-account-id': fc.constantFrom('210987654321', '-'),
  'tgw-src-vpc-id': fc.constantFrom('vpc-0a1b', '-'),
  'tgw-dst-vpc-id': fc.constantFrom('vpc-0c2d', '-'),
  'tgw-src-subnet-id': fc.constantFrom('subnet-01', '-'),
  'tgw-dst-subnet-id': fc.constantFrom('subnet-02', '-'),
  'tgw-src-eni': fc.constantFrom('eni-0a', '-'),
  'tgw-dst-eni': fc.constantFrom('eni-0b', '-'),
  'tgw-src-az-id': fc.constantFrom('use1-az1', '-'),
  'tgw-dst-az-id': fc.constantFrom('use1-az2', '-'),
  'tgw-pair-attachment-id': fc.constantFrom('tgw-attach-0c2d', '-'),
  'packets-lost-no-route': integerText(0, 1_000_000, ['-1', 'x']),
  'packets-lost-blackhole': integerText(0, 1_000_000, ['-1']),
  'packets-lost-mtu-exceeded': integerText(0, 1_000_000, ['1.5']),
  'packets-lost-ttl-expired': integerText(0, 1_000_000, ['-3']),
};

/** Damage to a whole line: a field too many or too few, an empty field, a control byte, a NUL, a CloudWatch timestamp. */
const damage = fc.oneof(
  { arbitrary: fc.constant((line: string) => line), weight: 40 },
  fc.constant((line: string) => `${line} extra`),
  fc.constant((line: string) => line.slice(0, line.lastIndexOf(' '))),
  fc.constant((line: string) => line.replace(' ', '  ')),
  fc.constant((line: string) => `${line} `),
  fc.constant((line: string) => line.replace(' ', '\t')),
  fc.constant((line: string) => line.replace(' ', ' \r')),
  // Bytes the stager rejects the line for: a typed line skips its checks, so the typer must refuse them.
  fc.constant((line: string) => line.replace(' ', ' \x1f')),
  fc.constant((line: string) => line.replace(' ', '\x00 ')),
  fc.constant((line: string) => `2024-05-01T13:00:00.000Z ${line}`),
);

function recordsOf(format: readonly AwsVpcField[], seed: number): string[] {
  const line = fc.tuple(fc.tuple(...format.map((field) => FIELD_VALUES[field])), damage).map(([values, damageLine]) => damageLine(values.join(' ')));
  return fc.sample(line, { seed, numRuns: RECORDS });
}

const V2 = AWS_VPC_FIELDS.slice(0, 14);
const V5_CUSTOM: AwsVpcField[] = [
  'version',
  'vpc-id',
  'srcport',
  'dstport',
  'flow-direction',
  'start',
  'end',
  'packets',
  'bytes',
  'action',
  'log-status',
  'interface-id',
  'dstaddr',
  'srcaddr',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'tcp-flags',
  'type',
  'traffic-path',
  'region',
  'protocol',
];
const NO_VERSION: AwsVpcField[] = ['srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end'];

/** The files both paths read: header or configured format, every field, fields missing, an unknown one. */
function layouts(): { name: string; text: string }[] {
  return [
    { name: 'v2-with-header.log', text: [V2.join(' '), ...recordsOf(V2, SEED)].join('\n') },
    { name: 'v5-custom-header.log', text: [V5_CUSTOM.join(' '), ...recordsOf(V5_CUSTOM, SEED + 1)].join('\n') },
    { name: 'all-fields.log', text: [AWS_VPC_FIELDS.join(' '), ...recordsOf(AWS_VPC_FIELDS, SEED + 2)].join('\n') },
    // No header: the configured format applies (a Firehose or CloudWatch delivery).
    { name: 'configured-format.log', text: recordsOf(V5_CUSTOM, SEED + 3).join('\n') },
    { name: 'no-version.log', text: [NO_VERSION.join(' '), ...recordsOf(NO_VERSION, SEED + 4)].join('\r\n') },
    { name: 'unknown-field.log', text: [`${V2.join(' ')} colour`, ...recordsOf(V2, SEED + 5).map((line) => `${line} red`)].join('\n') },
    {
      name: 'no-dstaddr.log',
      text: [
        V2.filter((f) => f !== 'dstaddr').join(' '),
        ...recordsOf(
          V2.filter((f) => f !== 'dstaddr'),
          SEED + 6,
        ),
      ].join('\n'),
    },
  ];
}

describe('AWS VPC records typed while staging', () => {
  let dir: string;
  let typed: NormalizeFileResult[];
  let parsed: NormalizeFileResult[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-aws-typer-'));
    const files = [];
    for (const layout of layouts()) {
      await writeFile(path.join(dir, layout.name), layout.text);
      files.push({ file: path.join(dir, layout.name), sourceType: 'aws_vpc' as const, objectKey: layout.name });
    }
    const options = { awsVpcFormat: V5_CUSTOM.join(' '), collectRows: true, threads: 2 };
    typed = await normalizeFiles(files, options);
    parsed = await normalizeFiles(files, { ...options, typeLines: false });
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes the same flows, values and counts, and quarantines the same records with the same reasons, as the model alone', () => {
    console.log(`[aws-vpc-line-typer] seed ${SEED}, ${RECORDS} records per file`);
    for (const [index, result] of typed.entries()) {
      const reference = parsed[index]!;
      console.log(`[aws-vpc-line-typer] ${result.objectKey}: ${result.flows} flows, ${result.nodata + result.skipdata} nodata/skipdata, ${result.quarantined} quarantined`);
      expect(result.columnTypes, result.objectKey).toEqual(reference.columnTypes);
      expect({ ...result, rows: undefined }, result.objectKey).toEqual({ ...reference, rows: undefined });
      expect(result.rows, result.objectKey).toEqual(reference.rows);
    }
    // The generated files exercise both outcomes in volume.
    const flows = typed.reduce((sum, r) => sum + r.flows, 0);
    const quarantined = typed.reduce((sum, r) => sum + r.quarantined, 0);
    expect(flows).toBeGreaterThan(2000);
    expect(quarantined).toBeGreaterThan(5000);
  });

  it('types most valid records and leaves the layouts it must not type to the model', () => {
    const typer = new AwsVpcLineTyper();
    const rows = new Collected();
    const lines = [V2.join(' '), ...recordsOf(V2, SEED)];
    let typedLines = 0;
    for (const line of lines) {
      const bytes = Buffer.from(line);
      rows.clear();
      if (!typer.typeLine(bytes, 0, bytes.length, rows)) continue;
      typedLines++;
      // Each field is in its column ('-' none: NULL), integers as numbers.
      const fields = line.split(' ');
      for (const [position, name] of V2.entries()) {
        if (name === 'log-status') continue;
        const column = V2_COLUMNS[position]!;
        const type = typer.columns[column]!.type;
        const expected = fields[position] === '-' ? undefined : type === 'INTEGER' || type === 'BIGINT' ? Number(fields[position]) : fields[position];
        expect(rows.values.get(column), `${name} of ${line}`).toBe(expected);
      }
      // The typed Community ID is the reference implementation's.
      const [, , , src, dst, srcPort, dstPort, protocol] = fields;
      const id = rows.values.get(typer.columns.findIndex((c) => c.name === 'community_id'));
      // A port missing ('-') is NULL: the Community ID too, for a protocol that hashes ports.
      const port = (text: string | undefined) => (text === '-' ? null : Number(text));
      const reference = communityIdV1({ srcIp: src!, dstIp: dst!, srcPort: port(srcPort), dstPort: port(dstPort), protocol: Number(protocol) });
      expect(id, line).toBe(reference ?? undefined);
    }
    const valid = typed[0]!.flows;
    // All but the records with an IPv6 address not in canonical form (fast-check writes most of
    // them otherwise; AWS writes them canonical), which the model canonicalizes.
    expect(typedLines).toBeGreaterThan(valid * 0.8);
    expect(typedLines).toBeLessThanOrEqual(valid);
    // A header naming an unknown field, or without a required one: nothing typed.
    for (const header of [`${V2.join(' ')} colour`, V2.filter((f) => f !== 'dstaddr').join(' ')]) {
      const refusing = new AwsVpcLineTyper();
      const record = Buffer.from('2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1714568400 1714568459 ACCEPT OK red');
      expect(refusing.typeLine(Buffer.from(header), 0, header.length, rows)).toBe(false);
      expect(refusing.typeLine(record, 0, record.length, rows)).toBe(false);
    }
  });
});

describe('Community ID of typed AWS records', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-aws-typer-cid-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is communityIdV1 of the record for random IPv4 and IPv6 tuples, as staged in the typed file', async () => {
    // Addresses as AWS writes them (IPv6 canonical); both families in one file, and mixed
    // families, for which the typer writes '-' as communityIdV1 gives null.
    const v6 = fc.ipV6().map((text) => ipCanonical(text)!);
    const tuple = fc.record({
      srcIp: fc.oneof(fc.ipV4(), v6),
      dstIp: fc.oneof(fc.ipV4(), v6),
      srcPort: fc.integer({ min: 0, max: 65535 }),
      dstPort: fc.integer({ min: 0, max: 65535 }),
      protocol: fc.oneof(fc.constantFrom(1, 6, 17, 58, 132), fc.integer({ min: 0, max: 255 })),
    });
    const tuples = fc.sample(tuple, { seed: SEED, numRuns: 4000 });
    const lines = tuples.map((t) => `2 123456789012 eni-1 ${t.srcIp} ${t.dstIp} ${t.srcPort} ${t.dstPort} ${t.protocol} 1 40 1714568400 1714568459 ACCEPT OK`);
    const file = path.join(dir, 'tuples.log');
    await writeFile(file, [AWS_VPC_DEFAULT_FORMAT, ...lines].join('\n'));
    const staged = await stageLines(file, path.join(dir, 'tuples.txt'), undefined, new AwsVpcLineTyper());
    expect(staged.typedLines).toBe(tuples.length);

    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const read = await connection.runAndReadAll(`SELECT line_no, community_id FROM read_parquet('${typedPathOf(path.join(dir, 'tuples.txt'))}') ORDER BY line_no`);
    const rows = read.getRowObjectsJson();
    connection.closeSync();
    expect(rows).toHaveLength(tuples.length);
    const families = new Set<string>();
    for (const [index, row] of rows.entries()) {
      const t = tuples[index]!;
      families.add(`${t.srcIp.includes(':') ? 6 : 4}${t.dstIp.includes(':') ? 6 : 4}`);
      expect(row.line_no, lines[index]).toBe(String(index + 2));
      expect(row.community_id, lines[index]).toBe(communityIdV1(t));
    }
    expect([...families].sort()).toEqual(['44', '46', '64', '66']);
  });
});

/** A row's values by column, as the typer set them; a column set twice in one row fails. */
class Collected implements TypedRow {
  readonly values = new Map<number, string | number | boolean>();
  clear(): void {
    this.values.clear();
  }
  setInteger(column: number, values: Float64Array, index: number): void {
    this.set(column, values[index]!);
  }
  setBoolean(column: number, value: boolean): void {
    this.set(column, value);
  }
  setBytes(column: number, source: Uint8Array, from: number, to: number): void {
    this.set(column, Buffer.from(source.subarray(from, to)).toString('utf8'));
  }
  private set(column: number, value: string | number | boolean): void {
    if (this.values.has(column)) throw new Error(`column ${column} set twice`);
    this.values.set(column, value);
  }
}

/** The typed file's column of each V2 field. */
const V2_COLUMNS = V2.map((field) => {
  const name =
    ({ version: 'source_version', srcaddr: 'src_ip', dstaddr: 'dst_ip', srcport: 'src_port', dstport: 'dst_port', start: 'start_epoch_s', end: 'end_epoch_s' } as Record<string, string>)[field] ??
    field.replaceAll('-', '_');
  return new AwsVpcLineTyper().columns.findIndex((column) => column.name === name);
});
