import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_VPC_FIELDS, awsVpcFormatSchema } from '../../schemas/sources/aws-vpc.ts';
import { nsgDocumentSchema, NSG_TUPLE_FIELDS } from '../../schemas/sources/azure-nsg.ts';
import { vnetDocumentSchema, VNET_TUPLE_FIELDS } from '../../schemas/sources/azure-vnet.ts';
import { gcpVpcFlowEntrySchema } from '../../schemas/sources/gcp-vpc.ts';
import { ociVcnLineSchema } from '../../schemas/sources/oci-vcn.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';
import { awsVpcParsedRecordsModel } from '../../lib/sources/aws-vpc-parsed-model.ts';

const fixture = (name: string) => readFile(path.join(REPO_ROOT, 'test', 'fixtures', name), 'utf8');
const lines = async (name: string) =>
  (await fixture(name))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);

describe('the raw-format schemas match the documented examples, and the models know every field', () => {
  it('AWS: every header in the fixtures is a valid format, and the model locates every documented field', async () => {
    for (const name of ['v2-default-documented.log', 'v3-tcp-flags-custom-order.log', 'v5-custom-order.log', 'v8-reject-reason-ecs.log']) {
      const header = (await fixture(`aws-vpc/${name}`)).split('\n')[0]!;
      expect(awsVpcFormatSchema.safeParse(header).success, name).toBe(true);
    }
    const model = awsVpcParsedRecordsModel().body.sql;
    for (const field of AWS_VPC_FIELDS) expect(model, field).toContain(`list_position(header_fields, '${field}')`);
    expect(awsVpcFormatSchema.safeParse('version srcaddr colour').success).toBe(false);
  });

  it('Azure NSG and VNet: the documented blobs parse, with tuples of the documented field counts', async () => {
    const nsg = [nsgDocumentSchema.parse(JSON.parse(await fixture('azure-nsg/v1-documented-tuples.json'))), nsgDocumentSchema.parse(JSON.parse(await fixture('azure-nsg/v2-documented-example.json')))];
    for (const doc of nsg) {
      for (const record of doc.records) {
        const tuples = record.properties.flows.flatMap((rule) => rule.flows.flatMap((mac) => mac.flowTuples));
        for (const tuple of tuples) expect(tuple.split(',')).toHaveLength(NSG_TUPLE_FIELDS[record.properties.Version].length);
      }
    }
    const vnet = vnetDocumentSchema.parse(JSON.parse(await fixture('azure-vnet/v4-documented-example.json')));
    for (const tuple of vnet.records[0]!.flowRecords.flows.flatMap((f) => f.flowGroups.flatMap((g) => g.flowTuples))) expect(tuple.split(',')).toHaveLength(VNET_TUPLE_FIELDS.length);
    // Each is not the other.
    expect(nsgDocumentSchema.safeParse(vnet).success).toBe(false);
    expect(vnetDocumentSchema.safeParse(nsg[1]).success).toBe(false);
  });

  it('GCP and OCI: every fixture line is an entry of its format, and not of the other', async () => {
    const gcp = await lines('gcp-vpc/src-and-dest-reports.json');
    const oci = await lines('oci-vcn/connector-hub-batch.log');
    for (const entry of gcp) expect(gcpVpcFlowEntrySchema.safeParse(entry).success).toBe(true);
    for (const entry of oci) expect(ociVcnLineSchema.safeParse(entry).success).toBe(true);
    for (const entry of gcp) expect(ociVcnLineSchema.safeParse(entry).success).toBe(false);
    for (const entry of oci) expect(gcpVpcFlowEntrySchema.safeParse(entry).success).toBe(false);
    // Quality events: the first three are NoData / SkipData entries, the last of another type.
    const quality = await lines('oci-vcn/quality-events.log');
    expect(quality.map((entry) => ociVcnLineSchema.safeParse(entry).success)).toEqual([true, true, true, false]);
  });
});
