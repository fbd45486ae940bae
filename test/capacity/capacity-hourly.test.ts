import { loadSnapshot, readCommit } from '../../lib/delta/delta-log.ts';
import { capacityHourlyTable } from '../../schemas/tables/index.ts';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHourlyAnalytics, type HourlyAnalyticsResult } from '../../jobs/hourly-analytics.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { publishGeneratedFlows, type GeneratedFlow } from '../anomalies/support/flow-lake.ts';

/**
 * capacity_hourly on hand-computed traffic: bytes spread over each record's start..end (across
 * the hour boundary too), idle minutes counted as zero, p95 of the 60 minutes, utilization
 * against the inventory capacity (or a configured link), warning at 60 % and critical at 70 %.
 */
const MBPS_100 = 750_000_000; // bytes in one minute at 100 Mbps
const H = '2024-06-03T13';
const at = (minute: number, second = 0) => new Date(Date.parse(`${H}:00:00Z`) + minute * 60_000 + second * 1000).toISOString().replace('Z', '');

const vms = {
  appBig: { vm_id: 'i-app-big', vm_name: 'app-big', ip: '10.1.0.1', segment: 'app', capacity_mbps: 1000 },
  webBusy: { vm_id: 'i-web-busy', vm_name: 'web-busy', ip: '10.1.2.1', segment: 'web', capacity_mbps: 1000 },
  batchBursty: { vm_id: 'i-batch-bursty', vm_name: 'batch-bursty', ip: '10.1.3.1', segment: 'batch', capacity_mbps: 10000 },
  noCapacity: { vm_id: 'i-nocap', vm_name: 'no-capacity', ip: '10.1.4.1', segment: 'batch', capacity_mbps: undefined },
  dataBig: { vm_id: 'i-data-big', vm_name: 'data-big', ip: '10.1.1.1', segment: 'data', capacity_mbps: 10000 },
  azureWeb: { vm_id: 'i-azure-web', vm_name: 'azure-web', ip: '10.1.5.1', segment: 'web2', capacity_mbps: 1000 },
  // Both run agents: each connection between them is observed twice.
  bothEndsClient: { vm_id: 'i-both-client', vm_name: 'both-client', ip: '10.1.6.1', segment: 'app2', capacity_mbps: 1000 },
  bothEndsServer: { vm_id: 'i-both-server', vm_name: 'both-server', ip: '10.1.6.2', segment: 'data2', capacity_mbps: 1000 },
};
type Vm = (typeof vms)[keyof typeof vms];

function record(src: Vm, dst: Vm, start: string, end: string, bytes: number): GeneratedFlow {
  return {
    start_at: start,
    end_at: end,
    src_ip: src.ip,
    src_port: 40000,
    dst_ip: dst.ip,
    dst_port: 5432,
    protocol: 6,
    bytes,
    observer_vm_id: src.vm_id,
    src_vm_id: src.vm_id,
    src_vm_name: src.vm_name,
    src_segment: src.segment,
    dst_vm_id: dst.vm_id,
    dst_vm_name: dst.vm_name,
    dst_segment: dst.segment,
  };
}

let lake: LakeFixture;
let run: HourlyAnalyticsResult;
let rows: Record<string, unknown>[];

beforeAll(async () => {
  lake = await createLakeFixture();
  const inventory = path.join(lake.dir, 'inventory.yaml');
  await writeFile(
    inventory,
    `vms:\n${Object.values(vms)
      .map(
        (vm, index) =>
          `  - { vm_id: ${vm.vm_id}, vm_name: ${vm.vm_name}, account_id: "1", segment: ${vm.segment}${vm.capacity_mbps ? `, capacity_mbps: ${vm.capacity_mbps}` : ''}, interfaces: [{ interface_id: eni-${index}, private_ips: [${vm.ip}] }] }`,
      )
      .join('\n')}\n`,
  );
  lake.config.reference.inventory = inventory;
  lake.config.analytics.capacity.links = [{ from: 'web', to: 'data', capacity_mbps: 2000 }];
  const flows: GeneratedFlow[] = [
    // A ten-minute record from the previous hour: its second half lands in 13:00-13:04.
    record(vms.appBig, vms.dataBig, at(-5), at(5), 10 * MBPS_100),
    // 100 Mbps all hour between two VMs that both observe it, the destination a tenth less (a lossy
    // capture): the destination's record counts in totals (enrich/connection_observations.sql), each VM keeps its own.
    ...Array.from({ length: 60 }, (_, i) => [
      { ...record(vms.bothEndsClient, vms.bothEndsServer, at(i), at(i + 1), MBPS_100), counts_in_totals: false },
      { ...record(vms.bothEndsClient, vms.bothEndsServer, at(i), at(i + 1), 0.9 * MBPS_100), observer_vm_id: vms.bothEndsServer.vm_id },
    ]).flat(),
    // A five-minute record, spread evenly.
    record(vms.appBig, vms.dataBig, at(5), at(10), 5 * MBPS_100),
    // One-minute records ending exactly on the next minute's boundary.
    ...Array.from({ length: 44 }, (_, i) => record(vms.appBig, vms.dataBig, at(10 + i), at(11 + i), MBPS_100)),
    ...Array.from({ length: 6 }, (_, i) => record(vms.appBig, vms.dataBig, at(54 + i), at(55 + i), 7 * MBPS_100)),
    // 650 Mbps all hour: a warning.
    ...Array.from({ length: 60 }, (_, i) => record(vms.webBusy, vms.dataBig, at(i), at(i, 30), 6.5 * MBPS_100)),
    // Three busy minutes, idle otherwise: p95 sits between the idle and the busy minutes.
    ...[7, 21, 44].map((minute) => record(vms.batchBursty, vms.dataBig, at(minute), at(minute), 5 * MBPS_100)),
    record(vms.noCapacity, vms.dataBig, at(30), at(31), MBPS_100),
    // An Azure VNet tuple of the web VM's NIC: a client's request (10 Mbps for the minute) and, in
    // the same record, the VM's answer (300 Mbps), which is its outbound traffic.
    {
      start_at: at(20),
      end_at: at(21),
      src_ip: '203.0.113.9',
      src_port: 40000,
      dst_ip: vms.azureWeb.ip,
      dst_port: 443,
      protocol: 6,
      source_type: 'azure_vnet',
      bytes: 0.1 * MBPS_100,
      reverse_bytes: 3 * MBPS_100,
      observer_vm_id: vms.azureWeb.vm_id,
      src_segment: 'internet',
      src_is_public: true,
      dst_vm_id: vms.azureWeb.vm_id,
      dst_vm_name: vms.azureWeb.vm_name,
      dst_segment: vms.azureWeb.segment,
    },
  ];
  await publishGeneratedFlows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, flows });
  run = await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date(`${H}:00:00Z`) });
  rows = await queryLake(lake, `SELECT * FROM capacity_hourly ORDER BY scope, entity_id`);
}, 120_000);

afterAll(async () => {
  await lake?.cleanup();
});

const row = (scope: string, entity: string) => rows.find((r) => r.scope === scope && r.entity_id === entity)!;

describe('capacity_hourly', () => {
  test('the analytics run publishes the hour', () => {
    expect(run.error).toBeUndefined();
    expect(run.hours.map((hour) => [hour.hour, hour.status])).toEqual([[H, 'published']]);
  });

  test.each([
    {
      case: 'records spread over their duration, across the hour boundary; p95 = the six 700 Mbps minutes; critical at 70 %',
      vm: 'i-app-big',
      p95: 700,
      max: 700,
      avg: 160,
      active: 60,
      bytes: 72e9,
      utilization: 0.7,
      status: 'critical',
    },
    { case: '650 Mbps all hour on 1000 Mbps: warning', vm: 'i-web-busy', p95: 650, max: 650, avg: 650, active: 60, bytes: 292.5e9, utilization: 0.65, status: 'warning' },
    { case: 'three busy minutes of sixty: idle minutes count as zero', vm: 'i-batch-bursty', p95: 25, max: 500, avg: 25, active: 3, bytes: 11.25e9, utilization: 0.0025, status: 'ok' },
    { case: 'a VM without inventory capacity is unknown, never ok', vm: 'i-nocap', p95: 0, max: 100, avg: 100 / 60, active: 1, bytes: 0.75e9, utilization: null, status: 'unknown' },
  ])('$case', ({ vm, p95, max, avg, active, bytes, utilization, status }) => {
    const r = row('vm', vm);
    expect(r.p95_mbps as number).toBeCloseTo(p95, 6);
    expect(r.max_mbps as number).toBeCloseTo(max, 6);
    expect(r.avg_mbps as number).toBeCloseTo(avg, 6);
    expect(r.active_minutes).toBe(active);
    expect(Number(r.bytes)).toBeCloseTo(bytes, -1);
    expect(Number(r.bytes_out)).toBeCloseTo(bytes, -1);
    if (utilization === null) expect(r.utilization).toBeNull();
    else expect(r.utilization as number).toBeCloseTo(utilization, 9);
    expect(r.status).toBe(status);
  });

  test('two observers of one connection: the segment pair counts it once, each VM keeps its own observation', () => {
    expect(row('segment_pair', 'app2 -> data2').p95_mbps as number).toBeCloseTo(90, 6);
    expect(Number(row('segment_pair', 'app2 -> data2').bytes)).toBeCloseTo(40.5e9, -1);
    expect(Number(row('vm', 'i-both-client').bytes_out)).toBeCloseTo(45e9, -1);
    expect(Number(row('vm', 'i-both-server').bytes_in)).toBeCloseTo(40.5e9, -1);
  });

  test('the busiest minute is named', () => {
    expect((row('vm', 'i-app-big').peak_minute_at as Date).toISOString()).toBe('2024-06-03T13:54:00.000Z');
    expect((row('vm', 'i-batch-bursty').peak_minute_at as Date).toISOString()).toBe('2024-06-03T13:07:00.000Z');
  });

  test("segment pairs: configured link capacity, else the smaller side's summed VM capacity", () => {
    expect(row('segment_pair', 'web -> data')).toMatchObject({ src_segment: 'web', dst_segment: 'data', capacity_mbps: 2000, status: 'ok' });
    expect(row('segment_pair', 'web -> data').utilization as number).toBeCloseTo(650 / 2000, 9);
    // app: 1000 Mbps of VMs, data: 10000 → 1000 Mbps; the pair carries app-big's traffic.
    expect(row('segment_pair', 'app -> data')).toMatchObject({ capacity_mbps: 1000, status: 'critical' });
    expect(row('segment_pair', 'app -> data').p95_mbps as number).toBeCloseTo(700, 6);
    // batch: 10000 (no-capacity adds nothing) → min(10000, 10000).
    expect(row('segment_pair', 'batch -> data')).toMatchObject({ capacity_mbps: 10000 });
  });

  test('same inputs: the hour is current and not rebuilt; forced, it publishes the same rows under the same run id', async () => {
    const options = { config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date(`${H}:00:00Z`) };
    const again = await runHourlyAnalytics(options);
    expect(again.hours.map((hour) => [hour.status, hour.runId])).toEqual([['current', run.hours[0]!.runId]]);
    expect(again.models).toEqual([]);
    const forced = await runHourlyAnalytics({ ...options, force: true });
    expect(forced.hours.map((hour) => [hour.status, hour.runId])).toEqual([['published', run.hours[0]!.runId]]);
    expect(await queryLake(lake, `SELECT * FROM capacity_hourly ORDER BY scope, entity_id`)).toEqual(rows);
    // The forced publish's commit replaced the first one's file of the hour with its own.
    const latest = (await readCommit(lake.store, capacityHourlyTable, (await loadSnapshot(lake.store, capacityHourlyTable)).version))!;
    expect(latest.flatMap((action) => ('remove' in action ? [action.remove.path] : 'add' in action ? [action.add.path] : []))).toEqual([
      `dt=2024-06-03/hour=13/part-00000-${run.hours[0]!.attemptId}.parquet`,
      `dt=2024-06-03/hour=13/part-00000-${forced.hours[0]!.attemptId}.parquet`,
    ]);
  });

  test('a new flows partition in the look-back changes the run id: the hour is rebuilt', async () => {
    await publishGeneratedFlows({
      store: lake.store,
      workDir: path.join(lake.dir, 'work'),
      logger: lake.logger,
      flows: [record(vms.appBig, vms.dataBig, '2024-06-03T10:00:00', '2024-06-03T10:00:30', 1000)],
    });
    const after = await runHourlyAnalytics({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, from: new Date(`${H}:00:00Z`) });
    expect(after.hours[0]!.status).toBe('published');
    expect(after.hours[0]!.runId).not.toBe(run.hours[0]!.runId);
  });

  test("a record's answer (Azure's reverse counters) is the observing VM's outbound traffic, and the opposite pair's", () => {
    expect(row('vm', 'i-azure-web')).toMatchObject({ bytes_in: 75_000_000n, bytes_out: 2_250_000_000n, status: 'ok' });
    expect(row('vm', 'i-azure-web').max_mbps as number).toBeCloseTo(300, 6);
    expect(row('segment_pair', 'web2 -> internet').max_mbps as number).toBeCloseTo(300, 6);
    expect(row('segment_pair', 'internet -> web2').max_mbps as number).toBeCloseTo(10, 6);
  });

  test('a VM that observes nothing of its own has no row (capacity comes from what a VM observed)', () => {
    expect(rows.filter((r) => r.entity_id === 'i-data-big')).toEqual([]);
  });
});
