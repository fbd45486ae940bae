import { describe, expect, test } from 'vitest';
import { fitTrend, projectCritical, type DailyPoint } from '../../lib/reports/capacity-trend.ts';

const days = (values: number[]): DailyPoint[] => values.map((value, i) => ({ day: new Date(Date.UTC(2024, 0, 1 + i)), value }));

describe('capacity trend and projection', () => {
  test.each([
    { case: 'a straight line is fitted exactly', values: [0.1, 0.2, 0.3, 0.4], slope: 0.1, last: 0.4 },
    { case: 'noise around a flat line has no slope', values: [0.4, 0.5, 0.45, 0.5, 0.4], slope: 0, last: 0.45 },
  ])('$case', ({ values, slope, last }) => {
    const trend = fitTrend(days(values))!;
    expect(trend.slope_per_day).toBeCloseTo(slope, 2);
    expect(trend.fitted_last).toBeCloseTo(last, 2);
  });

  test.each([
    { case: 'rising: the day the line meets critical', values: [0.3, 0.35, 0.4, 0.45, 0.5], kind: 'projected', date: '2024-01-09', in: 4 },
    { case: 'already critical: the first day of the current run above it', values: [0.5, 0.75, 0.6, 0.72, 0.8], kind: 'reached', date: '2024-01-04', in: -1 },
    { case: 'falling: never', values: [0.6, 0.5, 0.4], kind: 'none', date: null, in: null },
    { case: 'too few points to fit', values: [0.3, 0.6], kind: 'none', date: null, in: null },
    { case: 'no data', values: [], kind: 'none', date: null, in: null },
  ])('$case', ({ values, kind, date, in: inDays }) => {
    const projection = projectCritical(days(values), 0.7);
    expect([projection.kind, projection.date?.toISOString().slice(0, 10) ?? null, projection.days_from_last]).toEqual([kind, date, inDays]);
  });

  const noisy = [0.3, 0.5, 0.28, 0.45, 0.31, 0.52, 0.29, 0.47, 0.33, 0.5];
  test.each([
    {
      case: 'a nearly idle entity (3e-10 a day) has no trend and no date, never an invalid one',
      values: Array.from({ length: 30 }, (_, i) => 1e-9 + i * 3e-10),
      kind: 'none',
      reason: 'no significant trend',
    },
    { case: 'a flat line has no trend', values: Array(30).fill(0.4), kind: 'none', reason: 'no significant trend' },
    { case: 'noise with a slight upward drift is not significant', values: noisy, kind: 'none', reason: 'no significant trend' },
    { case: 'falling: stated as falling', values: [0.6, 0.5, 0.4, 0.3, 0.2, 0.1], kind: 'none', reason: 'falling' },
    {
      case: 'a significant rise that crosses only after the horizon gets no date',
      values: Array.from({ length: 30 }, (_, i) => 0.1 + i * 0.001),
      kind: 'beyond_horizon',
      reason: 'rising, but not within the 90-day horizon',
    },
    { case: 'too few points', values: [0.1, 0.2], kind: 'none', reason: 'too few points to fit a trend (2 of 5)' },
  ])('$case', ({ values, kind, reason }) => {
    const projection = projectCritical(days(values), 0.7, { minPoints: 5, horizon: 90, minSlope: 0.0005 });
    expect([projection.kind, projection.date, projection.reason]).toEqual([kind, null, reason]);
  });

  test('a significant rise within the horizon is dated, with its lower bound above zero', () => {
    const values = Array.from({ length: 20 }, (_, i) => 0.2 + i * 0.01 + (i % 2 ? 0.005 : -0.005));
    const projection = projectCritical(days(values), 0.7, { minPoints: 5, horizon: 90 });
    expect(projection.kind).toBe('projected');
    expect(projection.trend!.slope_lower).toBeGreaterThan(0);
    expect(projection.days_from_last).toBeGreaterThan(25);
    expect(projection.days_from_last).toBeLessThan(35);
  });

  test('hourly points: a ramp within a day is projected in hours', () => {
    const hours = Array.from({ length: 8 }, (_, i) => ({ day: new Date(Date.UTC(2024, 0, 1, i)), value: 0.2 + i * 0.05 }));
    const projection = projectCritical(hours, 0.7, { minPoints: 6, horizon: 24, unitMs: 3_600_000 });
    expect([projection.kind, projection.date?.toISOString(), projection.days_from_last]).toEqual(['projected', '2024-01-01T10:00:00.000Z', 3]);
  });
});
