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
});
