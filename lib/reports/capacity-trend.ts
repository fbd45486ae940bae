/**
 * The capacity trend: a least-squares line through utilization points (daily peaks over the
 * trailing weeks, or the hours of the last day for ramps within a day), the slope's one-sided
 * confidence bound, and the time that line reaches the critical threshold. A date is given only
 * where the rise is significant and the crossing falls within the planning horizon, so a nearly
 * idle entity (a slope of 1e-10 a day) never projects to the year 21189 or past Date's range.
 * Pure functions of their points.
 */
export interface TrendPoint {
  /** Start of the UTC day (or hour). */
  day: Date;
  /** Highest utilization (p95 / capacity) of the day (or the hour's). */
  value: number;
}
/** Kept for callers that speak of days. */
export type DailyPoint = TrendPoint;

export interface Trend {
  points: number;
  /** Utilization change per unit (per day by default; 0.01 = one percentage point a day). */
  slope_per_day: number;
  /** Standard error of the slope (0 for a perfect line). */
  slope_stderr: number;
  /** One-sided 95 % lower bound of the slope: the rise is significant when this is above zero. */
  slope_lower: number;
  /** The fitted value on the last point. */
  fitted_last: number;
  last_day: Date;
  first_day: Date;
}

export type ProjectionKind = 'reached' | 'projected' | 'beyond_horizon' | 'none';

export interface Projection {
  /**
   * `reached`: already at or above critical on the last point; `projected`: a significant rise
   * crosses it within the horizon; `beyond_horizon`: a significant rise that crosses it later;
   * `none`: flat, falling, noisy or too few points (`reason` says which).
   */
  kind: ProjectionKind;
  /** The day (or hour) critical is (or was first) reached; null unless reached or projected. */
  date: Date | null;
  /** Units (days or hours) from the last point to `date`. */
  days_from_last: number | null;
  /** Why there is no date, in words a capacity planner can act on; null when there is one. */
  reason: string | null;
  trend: Trend | null;
}

export interface ProjectOptions {
  /** Fewer points and no trend is fitted. */
  minPoints?: number;
  /** Units ahead past which no date is given (the planning horizon). */
  horizon?: number;
  /** Length of one unit in ms (a day by default; an hour for the short-term forecast). */
  unitMs?: number;
  /** A slope below this (utilization per unit) is flat whatever its significance: 0.01 pp a day is not a trend to plan for. */
  minSlope?: number;
}

const DAY_MS = 86_400_000;

/** One-sided 95 % Student t quantiles by degrees of freedom (1..30); the normal 1.645 beyond. */
const T95 = [6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697];
const t95 = (df: number) => (df <= 0 ? Infinity : (T95[df - 1] ?? 1.645));

export function fitTrend(points: readonly TrendPoint[], unitMs = DAY_MS): Trend | null {
  const sorted = [...points].filter((p) => Number.isFinite(p.value)).sort((a, b) => a.day.getTime() - b.day.getTime());
  if (sorted.length < 2) return null;
  const t0 = sorted[0]!.day.getTime();
  const xs = sorted.map((p) => (p.day.getTime() - t0) / unitMs);
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
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  const stderr = n > 2 && sxx > 0 ? Math.sqrt(sse / (n - 2) / sxx) : Infinity;
  return {
    points: n,
    slope_per_day: slope,
    slope_stderr: stderr,
    slope_lower: slope - t95(n - 2) * stderr,
    fitted_last: intercept + slope * xs[n - 1]!,
    last_day: sorted[n - 1]!.day,
    first_day: sorted[0]!.day,
  };
}

/**
 * When utilization reaches `critical`: already (the first point of the current run at or above
 * it), or where a significant rising trend crosses it within the horizon.
 */
export function projectCritical(points: readonly TrendPoint[], critical: number, options: ProjectOptions | number = {}): Projection {
  const { minPoints = 3, horizon = 3650, unitMs = DAY_MS, minSlope = 0 } = typeof options === 'number' ? { minPoints: options } : options;
  const sorted = [...points].filter((p) => Number.isFinite(p.value)).sort((a, b) => a.day.getTime() - b.day.getTime());
  const last = sorted.at(-1);
  const none = (reason: string, trend: Trend | null = null): Projection => ({ kind: 'none', date: null, days_from_last: null, reason, trend });
  if (!last) return none('no data');
  if (last.value >= critical) {
    let first = sorted.length - 1;
    while (first > 0 && sorted[first - 1]!.value >= critical) first--;
    return { kind: 'reached', date: sorted[first]!.day, days_from_last: Math.round((sorted[first]!.day.getTime() - last.day.getTime()) / unitMs), reason: null, trend: fitTrend(sorted, unitMs) };
  }
  const trend = fitTrend(sorted, unitMs);
  if (!trend || trend.points < minPoints) return none(`too few points to fit a trend (${sorted.length} of ${minPoints})`, trend);
  if (trend.slope_per_day <= 0) {
    const slopeUpper = 2 * trend.slope_per_day - trend.slope_lower;
    return none(slopeUpper < 0 && -trend.slope_per_day >= minSlope ? 'falling' : 'no significant trend', trend);
  }
  if (trend.slope_lower <= 0 || trend.slope_per_day < minSlope) return none('no significant trend', trend);
  const units = Math.max(1, Math.ceil((critical - trend.fitted_last) / trend.slope_per_day));
  if (!Number.isFinite(units) || units > horizon) {
    return { kind: 'beyond_horizon', date: null, days_from_last: null, reason: `rising, but not within the ${horizon}-${unitMs === DAY_MS ? 'day' : 'unit'} horizon`, trend };
  }
  return { kind: 'projected', date: new Date(last.day.getTime() + units * unitMs), days_from_last: units, reason: null, trend };
}
