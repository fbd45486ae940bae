import { describe, expect, it } from 'vitest';
import { lateHoursOf, newLateObjects, objectRouting, windowHoursOf, type AccountedObject, type LateObject } from '../../lib/sources/late-objects.ts';
import type { DiscoveredObject } from '../../lib/staging/stage-objects.ts';
import { configSchema } from '../../schemas/config.ts';

/** The pure part of late data (lib/sources/late-objects.ts): which hours a run watches, which objects are new, what it routes. */
const config = configSchema.parse({ lateness: '15m', scheduler: { rescan_lookback: '48h', late_horizon: '7d' } });
const at = (iso: string) => new Date(`${iso}:00:00Z`);
const hours = (list: Date[]) => list.map((hour) => hour.toISOString().slice(0, 13));
const AWS = 'raw/aws_vpc/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/07/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_';
const agent = (folderHour: string, seq: number, etag = 'e1', size = 100): DiscoveredObject => ({
  key: `raw/agent/dt=${folderHour.slice(0, 10)}/hour=${folderHour.slice(11)}/vm=i-1/i-1-${String(seq).padStart(12, '0')}.ndjson.gz`,
  etag,
  size,
  lastModified: new Date('2024-07-05T00:00:00Z'),
  sourceType: 'agent',
  regionHint: null,
});
const aws = (stamp: string): DiscoveredObject => ({ key: `${AWS}${stamp}_a1b2c3d4.log.gz`, etag: 'e', size: 1, lastModified: new Date(0), sourceType: 'aws_vpc', regionHint: 'us-east-1' });

describe('lateHoursOf: the hours past the look-back a run watches', () => {
  it('runs of D watch D − horizon … D − look-back', () => {
    const watched = lateHoursOf(at('2024-07-10T00'), config);
    expect(watched).toHaveLength(7 * 24 - 48 + 1);
    expect(hours([watched[0]!, watched.at(-1)!])).toEqual(['2024-07-03T00', '2024-07-08T00']);
  });
  it('a horizon no longer than the look-back watches nothing', () => {
    expect(lateHoursOf(at('2024-07-10T00'), configSchema.parse({ scheduler: { rescan_lookback: '48h', late_horizon: '48h' } }))).toHaveLength(1);
    expect(lateHoursOf(at('2024-07-10T00'), configSchema.parse({ scheduler: { rescan_lookback: '48h', late_horizon: '24h' } }))).toEqual([]);
  });
});

describe('windowHoursOf: the hours whose delivery window holds an object', () => {
  it.each([
    ['an agent segment closed in hour 13 (listed by the runs of 12 and 13)', agent('2024-07-01T13', 1), '2024-07-01T13', ['2024-07-01T12', '2024-07-01T13']],
    ['an AWS file delivered at 13:10, within the lateness of 12', aws('20240701T1310Z'), '2024-07-01T13', ['2024-07-01T12', '2024-07-01T13']],
    ['an AWS file delivered at 13:20, after the lateness of 12', aws('20240701T1320Z'), '2024-07-01T13', ['2024-07-01T13']],
  ])('%s', (_why, object, around, expected) => {
    expect(hours(windowHoursOf(object, at(around), config))).toEqual(expected);
  });
});

describe('newLateObjects: object versions no published run read and no other run routed', () => {
  const E = at('2024-07-01T13');
  const found = [
    { object: agent('2024-07-01T13', 1), windows: [0] },
    { object: agent('2024-07-01T13', 2, 'e2', 200), windows: [0] },
    { object: agent('2024-07-01T13', 3, 'e3', 300), windows: [0] },
    { object: agent('2024-07-01T13', 4, 'e4', 400), windows: [0] },
  ];
  const accounted = (versions: AccountedObject[]) => new Map([['2024-07-01T13', versions]]);
  it.each([
    [
      'a new key is late, from its first record',
      [],
      [
        { seq: 1, after: 0 },
        { seq: 2, after: 0 },
        { seq: 3, after: 0 },
        { seq: 4, after: 0 },
      ],
    ],
    [
      'the published version is not; a changed version only after what the old one held; unknown old end: all of it',
      [
        { key: found[0]!.object.key, etag: 'e1', size: 100, last_offset: 9 },
        { key: found[1]!.object.key, etag: 'old', size: 150, last_offset: 7 },
        { key: found[2]!.object.key, etag: 'old', size: 250 },
        { key: found[3]!.object.key, etag: 'e4', size: 400 },
      ],
      [
        { seq: 2, after: 7 },
        { seq: 3, after: 0 },
      ],
    ],
  ])('%s', (_why, versions, expected) => {
    const late = newLateObjects(found, [E], accounted(versions));
    expect(late.map((o) => ({ seq: Number(/-(\d+)\.ndjson/.exec(o.key)![1]), after: o.afterOffset }))).toEqual(expected);
    for (const object of late) expect(hours(object.lateHours)).toEqual(['2024-07-01T13']);
  });
  it('an hour never published is missing, not late: its objects are left alone', () => {
    expect(newLateObjects(found, [E], new Map())).toEqual([]);
  });
});

describe('objectRouting: who routes the records no window of their hour holds', () => {
  it.each([
    ['an AWS file delivered at 13:20 is held only by the window of 13: the run of 13 routes its orphans', '2024-07-01T13', aws('20240701T1320Z'), true],
    ['an AWS file delivered at 13:10 is held by 12 and 13: the run of 12 leaves its orphans to 13', '2024-07-01T12', aws('20240701T1310Z'), false],
    ['… and the run of 13 routes them', '2024-07-01T13', aws('20240701T1310Z'), true],
  ])('%s', (_why, runHour, object, routesOrphans) => {
    const [row] = objectRouting(at(runHour), [object], [], config);
    expect(row).toMatchObject({ object_key: object.key, routes_orphans: routesOrphans, late_hours: [], after_offset: 0 });
  });
  it('a late object routes its records of the late hours, and its orphans when the last window holding it is a late hour', () => {
    const segment = agent('2024-07-01T13', 1);
    const late: LateObject = { ...segment, lateHours: [at('2024-07-01T12'), at('2024-07-01T13')], afterOffset: 4 };
    const [row] = objectRouting(at('2024-07-04T00'), [], [late], config);
    expect(row).toEqual({
      object_key: segment.key,
      etag: 'e1',
      delivered_at: '2024-07-05 00:00:00.000',
      window_hours: ['2024-07-01 12:00:00.000', '2024-07-01 13:00:00.000'],
      late_hours: ['2024-07-01 12:00:00.000', '2024-07-01 13:00:00.000'],
      routes_orphans: true,
      after_offset: 4,
    });
    // Late only for 12: hour 13's run read it, so 13 (the last window holding it) owns its orphans.
    const [onlyTwelve] = objectRouting(at('2024-07-04T00'), [], [{ ...late, lateHours: [at('2024-07-01T12')] }], config);
    expect(onlyTwelve).toMatchObject({ late_hours: ['2024-07-01 12:00:00.000'], routes_orphans: false });
  });
});
