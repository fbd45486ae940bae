import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flowsTable } from '../../schemas/tables/flows.ts';
import { normalizeFiles, type LocalRawFile, type NormalizeFileResult } from '../../lib/sources/normalize-file.ts';
import { SOURCES } from '../../lib/sources/registry.ts';
import type { SourceType } from '../../lib/sources/source-definition.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
const FIREHOSE_FORMAT = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path';

/** Every fixture of every source, with what it holds. Adding a source means adding its fixtures here. */
const CASES: { file: string; source: SourceType; flows: number; nodata?: number; skipdata?: number }[] = [
  { file: 'aws-vpc/v2-default-documented.log', source: 'aws_vpc', flows: 5, nodata: 1, skipdata: 1 },
  { file: 'aws-vpc/v3-tcp-flags-custom-order.log', source: 'aws_vpc', flows: 4 },
  { file: 'aws-vpc/v5-custom-order.log.gz', source: 'aws_vpc', flows: 4 },
  { file: 'aws-vpc/v6-transit-gateway.log', source: 'aws_vpc', flows: 2, nodata: 1 },
  { file: 'aws-vpc/v8-reject-reason-ecs.log', source: 'aws_vpc', flows: 2 },
  { file: 'aws-vpc/headerless-firehose.log', source: 'aws_vpc', flows: 2 },
  { file: 'aws-vpc/v5-parquet-delivery.log.parquet', source: 'aws_vpc', flows: 2, nodata: 1 },
  { file: 'azure-nsg/v1-documented-tuples.json', source: 'azure_nsg', flows: 6 },
  { file: 'azure-nsg/v2-documented-example.json', source: 'azure_nsg', flows: 11 },
  { file: 'azure-vnet/v4-documented-example.json', source: 'azure_vnet', flows: 10 },
  { file: 'gcp-vpc/src-and-dest-reports.json', source: 'gcp_vpc', flows: 4 },
  { file: 'oci-vcn/connector-hub-batch.log', source: 'oci_vcn', flows: 3 },
  { file: 'agent/spool-segment.ndjson.gz', source: 'agent', flows: 3 },
];

describe('every source lands in the one flows schema with lineage, and its counts reconcile', () => {
  const results = new Map<string, NormalizeFileResult>();

  beforeAll(async () => {
    const files: LocalRawFile[] = CASES.map((c) => ({ file: path.join(FIXTURES, c.file), sourceType: c.source, objectKey: c.file }));
    for (const result of await normalizeFiles(files, { awsVpcFormat: FIREHOSE_FORMAT, collectRows: true, threads: 2 })) results.set(result.objectKey, result);
  });

  it('covers every registered source', () => {
    expect(new Set(CASES.map((c) => c.source))).toEqual(new Set(SOURCES.map((s) => s.sourceType)));
  });

  it.each(CASES)('$file: records read = flows + NODATA + SKIPDATA + quarantined, nothing quarantined', (c) => {
    const r = results.get(c.file)!;
    expect(r.quarantine).toEqual([]);
    expect({ flows: r.flows, nodata: r.nodata, skipdata: r.skipdata }).toEqual({ flows: c.flows, nodata: c.nodata ?? 0, skipdata: c.skipdata ?? 0 });
    expect(r.recordsRead).toBe(r.flows + r.nodata + r.skipdata + r.quarantined);
    expect(r.rows).toHaveLength(c.flows);
  });

  it.each(CASES)('$file: columns are flows columns with the declared types', (c) => {
    const r = results.get(c.file)!;
    const declared = new Map<string, string>(flowsTable.columns.map((column) => [column.name, column.type]));
    for (const name of r.columns) expect(`${name} ${r.columnTypes[name]}`).toBe(`${name} ${declared.get(name)}`);
    // Everything the curated table declares, except what enrichment (both ends, the connection's observers), conformance and publishing add.
    const added = /^(src|dst)_(vm_id|vm_name|account_id|segment|tags|cidr|range_name|is_public|threat_lists)$|^(verdict|violated_rule_ids|run_id|counted_flow_id|observed_by)$/;
    expect(flowsTable.columns.map((column) => column.name).filter((name) => !added.test(name) && !r.columns.includes(name))).toEqual([]);
  });

  it.each(CASES)('$file: every flow has lineage, a Community ID and sane values', (c) => {
    const rows = results.get(c.file)!.rows!;
    const offsets = rows.map((row) => Number(row.raw_offset));
    expect(new Set(offsets).size).toBe(rows.length);
    expect(new Set(rows.map((row) => row.flow_id)).size).toBe(rows.length);
    for (const row of rows) {
      expect(row).toMatchObject({ source_type: c.source, raw_object_key: c.file });
      expect(Number(row.raw_offset)).toBeGreaterThan(0);
      // An ICMP record without type and code (GCP reports none) cannot have a Community ID.
      if (row.src_port !== null) expect(row.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
      expect(row.src_ip).toEqual(expect.any(String));
      expect(row.dst_ip).toEqual(expect.any(String));
      expect(Number(row.protocol)).toBeGreaterThanOrEqual(0);
      expect(Number(row.packets)).toBeGreaterThanOrEqual(0);
      expect(Number(row.bytes)).toBeGreaterThanOrEqual(0);
      expect((row.end_at as Date).getTime()).toBeGreaterThanOrEqual((row.start_at as Date).getTime());
      expect(typeof row.counts_in_totals).toBe('boolean');
      expect([null, 'ingress', 'egress']).toContain(row.direction);
      expect([null, 'accept', 'reject']).toContain(row.action);
    }
  });
});
