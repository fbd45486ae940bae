import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateTexts, listLayouts } from '../../lib/sources/list-layout.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { SOURCES, sourceByType } from '../../lib/sources/registry.ts';
import { deliveryWindow, type SourceType } from '../../lib/sources/source-definition.ts';
import { configSchema } from '../../schemas/config.ts';

const HOUR = new Date('2024-05-01T13:00:00Z');
const WINDOW = deliveryWindow(HOUR, 15 * 60_000); // [13:00, 14:15)
const PREFIX = Object.fromEntries(Object.entries(configSchema.parse({}).sources).map(([name, source]) => [name, source.prefix])) as Record<SourceType, string>;
/** The date texts of a source's last layout step that generates them. */
function definitionDates(source: SourceType, window: ReturnType<typeof deliveryWindow>): string[] {
  const step = sourceByType(source).layouts[0]!.steps.find((s) => 'date' in s) as Parameters<typeof dateTexts>[0];
  return dateTexts(step, [window]);
}
const object = (key: string) => ({ key, etag: 'e', size: 1, lastModified: new Date(0) });

const AWS = 'raw/aws_vpc/AWSLogs/';
const NSG =
  'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/';
const VNET = 'raw/azure_vnet/insights-logs-flowlogflowevent/flowLogResourceID=/00000000-0000-0000-0000-000000000000/NETWORKWATCHERRG/NETWORKWATCHER_EASTUS_VNETFLOWLOG/';
const GCP = 'raw/gcp_vpc/compute.googleapis.com/vpc_flows/';
const OCI = 'raw/oci_vcn/ocid1.serviceconnector.oc1.phx.amaaaaaaexample/';

const CASES: { source: SourceType; key: string; inWindow: boolean; staging?: string; why: string }[] = [
  {
    source: 'aws_vpc',
    key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1305Z_a1b2c3d4.log.gz`,
    inWindow: true,
    staging: 'lines',
    why: 'default layout, delivered in the hour',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1410Z_a1b2c3d4.log.gz`,
    inWindow: true,
    why: 'delivered within the lateness',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1415Z_a1b2c3d4.log.gz`,
    inWindow: false,
    why: 'delivered after the lateness',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1255Z_a1b2c3d4.log.gz`,
    inWindow: false,
    why: 'delivered before the hour',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/13/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1305Z_a1b2c3d4.log.parquet`,
    inWindow: true,
    staging: 'parquet',
    why: 'per-hour partitions, Parquet',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1305Z_a1b2c3d4.log.parquet`,
    inWindow: true,
    staging: 'parquet',
    why: 'Hive-compatible prefixes',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=01/hour=13/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240501T1305Z_a1b2c3d4.log.gz`,
    inWindow: true,
    staging: 'lines',
    why: 'Hive-compatible prefixes with per-hour partitions',
  },
  {
    source: 'aws_vpc',
    key: `${AWS}firehose/2024/05/01/13/vpc-flows-1-2024-05-01-13-05-00-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.gz`,
    inWindow: true,
    staging: 'lines',
    why: 'Firehose delivery (header-less)',
  },
  { source: 'aws_vpc', key: `${AWS}123456789012/vpcflowlogs/us-east-1/2024/05/01/notes.txt`, inWindow: false, why: 'another object under the prefix' },
  { source: 'azure_nsg', key: `${NSG}y=2024/m=05/d=01/h=13/m=00/macAddress=000D3AF87856/PT1H.json`, inWindow: true, staging: 'json-records', why: 'the blob of the hour' },
  { source: 'azure_nsg', key: `${NSG}y=2024/m=05/d=01/h=14/m=00/macAddress=000D3AF87856/PT1H.json`, inWindow: true, why: 'the next hour overlaps the lateness' },
  { source: 'azure_nsg', key: `${NSG}y=2024/m=05/d=01/h=12/m=00/macAddress=000D3AF87856/PT1H.json`, inWindow: false, why: 'the previous hour' },
  { source: 'azure_nsg', key: `${NSG}y=2024/m=05/d=01/h=13/m=00/macAddress=000D3AF87856/other.json`, inWindow: false, why: 'not a PT1H.json blob' },
  { source: 'azure_vnet', key: `${VNET}y=2024/m=05/d=01/h=13/m=00/macAddress=00224871C205/PT1H.json`, inWindow: true, staging: 'json-records', why: 'the blob of the hour' },
  { source: 'azure_vnet', key: `${VNET}y=2024/m=05/d=01/h=15/m=00/macAddress=00224871C205/PT1H.json`, inWindow: false, why: 'two hours later' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/13:00:00_13:59:59_S0.json`, inWindow: true, staging: 'lines', why: 'the hourly batch' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/14:00:00_14:59:59_S1.json`, inWindow: true, why: 'the next batch (flows of 13 logged after 14:00), second shard' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/13:00:00_13:59:59_A0:1714579200.json`, inWindow: true, staging: 'lines', why: 'an append shard (entries received after the hour was written)' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/13:00:00_13:59:59_A1.json.gz`, inWindow: true, why: 'an append shard without its time, compressed' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/12:00:00_12:59:59_S0.json`, inWindow: false, why: 'the previous batch' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/13:00:00_13:59:59_B0.json`, inWindow: false, why: 'not a shard name' },
  { source: 'gcp_vpc', key: `${GCP}2024/05/01/13:00:00_14:59:59_S0.json`, inWindow: false, why: 'not a batch name' },
  { source: 'oci_vcn', key: `${OCI}20240501T130500Z_20240501T131000Z.0.log.gz`, inWindow: true, staging: 'lines', why: 'a batch closed in the hour' },
  { source: 'oci_vcn', key: `${OCI}20240501T140500Z_20240501T141400Z.0.log.gz`, inWindow: true, why: 'closed within the lateness' },
  { source: 'oci_vcn', key: `${OCI}20240501T125500Z_20240501T130000Z.0.log.gz`, inWindow: true, why: 'closed at the hour (records of the previous hour are counted there)' },
  { source: 'oci_vcn', key: `${OCI}20240501T125000Z_20240501T125500Z.0.log.gz`, inWindow: false, why: 'closed before the hour' },
  { source: 'agent', key: 'raw/agent/dt=2024-05-01/hour=13/vm=i-0app00000000001/i-0app00000000001-000000000001.ndjson.gz', inWindow: true, staging: 'lines', why: 'segment closed in the hour' },
];

describe('discovery: each source finds the objects of an event hour in its native layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-discovery-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(CASES)('$source: $why', async ({ source, key, inWindow, staging }) => {
    const definition = sourceByType(source);
    expect(definition.inWindow(object(key), PREFIX[source], WINDOW)).toBe(inWindow);
    // Every key the window keeps is found by the listing of the window's date prefixes, in a real folder.
    if (inWindow) {
      const store = new LocalFolderStore(await mkdtemp(path.join(dir, 'case-')));
      await store.putBytes(key, 'x');
      const listed: string[] = [];
      for await (const found of listLayouts(store, PREFIX[source], definition.layouts, [WINDOW])) listed.push(found.key);
      expect(listed).toContain(key);
    }
    if (staging) expect(definition.staging(key)).toBe(staging);
  });

  it('generates the date prefixes of the window only: hours (GCP, agent, Azure), days an hour wide (AWS)', () => {
    const late = deliveryWindow(new Date('2024-05-01T23:00:00Z'), 15 * 60_000);
    const texts = (source: SourceType, window = WINDOW) => definitionDates(source, window);
    expect(texts('gcp_vpc', late)).toEqual(['2024/05/01/23:', '2024/05/02/00:']);
    expect(texts('agent')).toEqual(['dt=2024-05-01/hour=13/', 'dt=2024-05-01/hour=14/']);
    expect(texts('azure_nsg')).toEqual(['y=2024/m=05/d=01/h=13/', 'y=2024/m=05/d=01/h=14/']);
    expect(texts('aws_vpc')).toEqual(['2024/05/01/']);
    expect(texts('aws_vpc', deliveryWindow(new Date('2024-05-02T00:00:00Z'), 15 * 60_000))).toEqual(['2024/05/01/', '2024/05/02/']);
    expect(texts('oci_vcn')).toEqual(['20240501T12', '20240501T13', '20240501T14']);
  });

  it('reads the region from AWS keys for the model', () => {
    expect(sourceByType('aws_vpc').regionHint!(CASES[5]!.key)).toBe('us-east-1');
  });

  it('has a configuration entry, a CLI name and a distinct prefix for every source', () => {
    const config = configSchema.parse({});
    for (const source of SOURCES) expect(config.sources[source.configKey].prefix).toBeTruthy();
    expect(new Set(SOURCES.map((s) => s.cliName)).size).toBe(SOURCES.length);
    expect(new Set(Object.values(PREFIX)).size).toBe(SOURCES.length);
  });
});
