import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';
import { count, reportFigures } from './support/reliability-run.ts';

/**
 * Suite 6 of issue 8, Azure part: an NSG flow log blob (`PT1H.json`) is appended to during its
 * hour. The hour runs while the blob is partial, then reruns each time it grows (what the
 * late-data rescan does when the ETag changes): every flow is published exactly once, never
 * counted once per version of the blob.
 */
const GROWTHS = count(12, 3);
const KEY =
  'raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1/y=2018/m=11/d=13/h=12/m=00/macAddress=000D3AF87856/PT1H.json';

describe('Azure PT1H.json growing during the hour', () => {
  let lake: LakeFixture;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    lake = await createLakeFixture();
    records = (JSON.parse(await readFile(path.join(REPO_ROOT, 'test', 'fixtures', 'azure-nsg', 'v2-documented-example.json'), 'utf8')) as { records: Record<string, unknown>[] }).records;
  });
  afterAll(() => lake?.cleanup());

  it(`${GROWTHS} appends, a run after each: flows published exactly once`, async () => {
    // Each append adds the fixture's records again at a later minute of the hour (new flows).
    const appended: Record<string, unknown>[] = [];
    const perAppend: number[] = [];
    for (let growth = 0; growth < GROWTHS; growth++) {
      for (const record of records) {
        const copy = structuredClone(record);
        copy.time = `2018-11-13T12:${String(2 + growth * 4).padStart(2, '0')}:00.0000000Z`;
        // Flow tuples carry their own epoch seconds: shift them into this minute so each append is new flows.
        const text = JSON.stringify(copy).replace(/"(154\d{7}),/g, (_m, epoch: string) => `"${Number(epoch) + (2 + growth * 4) * 60 + growth},`);
        appended.push(JSON.parse(text) as Record<string, unknown>);
      }
      await lake.store.putBytes(KEY, JSON.stringify({ records: appended }));
      const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: lake.store, logger: lake.logger, hour: new Date('2018-11-13T12:00:00Z'), trigger: 'test', skipWhenPublished: true });
      expect(result.error ?? result.status).toBe('published');
      perAppend.push(result.counts.flows_published);
    }
    const [row] = await queryLake<{ flows: bigint; distinct_flows: bigint }>(lake, `SELECT count(*) AS flows, count(DISTINCT flow_id) AS distinct_flows FROM flows`);
    reportFigures('late-data/azure-growing-blob', { appends: GROWTHS, flows_after_each_run: perAppend, flows_in_lake: Number(row!.flows), distinct_flow_ids: Number(row!.distinct_flows) });
    // Every run saw the whole blob so far; the lake holds the last run's flows once each.
    expect(perAppend[1]).toBe(perAppend[0]! * 2);
    expect(Number(row!.flows)).toBe(perAppend.at(-1));
    expect(Number(row!.distinct_flows)).toBe(Number(row!.flows));
  }, 600_000);
});
