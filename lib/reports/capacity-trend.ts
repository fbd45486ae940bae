/**
 * The capacity trend: a least-squares line through the daily peak utilization of the trailing
 * weeks, and the day that line reaches the critical threshold. Pure functions of their points.
 */
export interface DailyPoint {
  /** Start of the UTC day. */
  day: Date;
  /** Highest hourly utilization (p95 / capacity) of the day. */
  value: number;
}

export interface Trend {
  points: number;
  /** Utilization change per day (0.01 = one percentage point a day). */
  slope_per_day: number;
  /** The fitted value on the last day with data. */
  fitted_last: number;
  last_day: Date;
  first_day: Date;
}

export interface Projection {
  /** `reached`: already at or above critical on the last day; `projected`: the line crosses it later; `none`: flat, falling or too few points. */
  kind: 'reached' | 'projected' | 'none';
  /** The day critical is (or was first) reached. */
  date: Date | null;
  days_from_last: number | null;
}

const DAY_MS = 86_400_000;

export function fitTrend(points: readonly DailyPoint[]): Trend | null {
  if (points.length < 2) return null;
  const sorted = [...points].sort((a, b) => a.day.getTime() - b.day.getTime());
  const t0 = sorted[0]!.day.getTime();
  const xs = sorted.map((p) => (p.day.getTime() - t0) / DAY_MS);
  const ys = sorted.map((p) => p.value);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  return { points: n, slope_per_day: slope, fitted_last: intercept + slope * xs[n - 1]!, last_day: sorted[n - 1]!.day, first_day: sorted[0]!.day };
}

/** When the daily peak reaches `critical`: already (the first day of the current run at or above it), or where the trend line crosses it. */
export function projectCritical(points: readonly DailyPoint[], critical: number, minPoints = 3): Projection {
  const sorted = [...points].sort((a, b) => a.day.getTime() - b.day.getTime());
  const last = sorted.at(-1);
  if (!last) return { kind: 'none', date: null, days_from_last: null };
  if (last.value >= critical) {
    let first = sorted.length - 1;
    while (first > 0 && sorted[first - 1]!.value >= critical) first--;
    return { kind: 'reached', date: sorted[first]!.day, days_from_last: Math.round((sorted[first]!.day.getTime() - last.day.getTime()) / DAY_MS) };
  }
  const trend = fitTrend(sorted);
  if (!trend || trend.points < minPoints || trend.slope_per_day <= 0) return { kind: 'none', date: null, days_from_last: null };
  const days = Math.max(1, Math.ceil((critical - trend.fitted_last) / trend.slope_per_day));
  return { kind: 'projected', date: new Date(last.day.getTime() + days * DAY_MS), days_from_last: days };
}
