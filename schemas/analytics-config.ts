import { z } from 'zod';

/**
 * Thresholds of the anomaly detectors and the capacity model (`analytics:` in the configuration)
 * and what the reports show (`reports:`). Every key has a default; the detectors' thresholds are
 * hashed into `thresholds_version` on every anomaly, so a row says which settings produced it.
 */
const window = z.string().regex(/^\d+m$/, 'expected a window in minutes such as "5m"');

/** Published hours the lake must hold in a detector's look-back before it reports anything (a young lake has no baseline: cold start, no alert). */
const minHistoryHours = (hours: number) => z.number().int().min(0).default(hours);

const fanOut = z.strictObject({
  /** Sliding window in which distinct destination hosts of one source are counted. */
  window: window.default('5m'),
  /** A source is a fan-out anomaly when its busiest window reaches this many hosts … */
  threshold: z.number().int().min(2).default(50),
  /** … and exceeds `baseline_factor` × its own trailing baseline (p95 of its hourly peaks over these days). */
  baseline_days: z.number().int().min(1).max(90).default(7),
  baseline_factor: z.number().min(1).default(2),
  min_history_hours: minHistoryHours(24),
});

const hostSweep = z.strictObject({
  /** Sliding window in which distinct hosts of one source on one destination port are counted (a horizontal scan). */
  window: window.default('5m'),
  /** A source sweeps when its busiest port reaches this many hosts in the window … */
  threshold: z.number().int().min(2).default(30),
  /** … and exceeds `baseline_factor` × its own trailing baseline (p95 of its hourly peaks over these days). */
  baseline_days: z.number().int().min(1).max(90).default(7),
  baseline_factor: z.number().min(1).default(2),
  min_history_hours: minHistoryHours(24),
});

const portScan = z.strictObject({
  /** Sliding window in which distinct destination ports of one source → destination pair are counted (a vertical scan). */
  window: window.default('5m'),
  threshold: z.number().int().min(2).default(20),
  /** No baseline: no client opens 20 ports of one host in 5 minutes, so a scan is reported from the first hour. */
  min_history_hours: minHistoryHours(0),
});

const exfiltration = z.strictObject({
  /** Trailing hours over which an internal source's bytes to one public address are summed (slow exfiltration stays under any hourly spike). */
  window_hours: z.number().int().min(2).max(72).default(6),
  /** Reported when the window holds at least this many bytes to the address … */
  min_bytes: z.number().int().min(1).default(2_000_000),
  /** … sent in at least this many distinct hours … */
  min_active_hours: z.number().int().min(1).default(3),
  /** … to an address the source had not reached in these trailing days before the window. */
  lookback_days: z.number().int().min(1).max(90).default(7),
  min_history_hours: minHistoryHours(24),
});

const newTalkers = z.strictObject({
  /** A source → destination:port pair is new when not seen in the curated flows of these trailing days. */
  lookback_days: z.number().int().min(1).max(90).default(7),
  /** Nothing is reported until the lake holds at least this many published hours in the look-back (a young lake knows nobody). */
  min_history_hours: z.number().int().min(1).default(24),
  /** One finding per source and hour lists at most this many of its new pairs (the count is always complete). */
  max_listed_pairs: z.number().int().min(1).max(1000).default(20),
});

const volume = z.strictObject({
  /** Bytes of the hour are compared with the same hour of up to this many trailing days. */
  baseline_days: z.number().int().min(3).max(90).default(14),
  /** Fewer points than this (published same-hour partitions) and no spike is reported. */
  min_points: z.number().int().min(3).default(5),
  /** Robust z-score (0.6745 × (x − median) / MAD) at or above which the hour is a spike. */
  z_threshold: z.number().positive().default(3.5),
  /** Hours below this many bytes are never spikes (a few packets more on an idle pair is noise). */
  min_bytes: z.number().int().min(0).default(1_000_000),
  /** … and at least this many times the median: with a week or two of points the MAD is itself noisy, and a spike worth a look is a multiple of normal. */
  min_ratio: z.number().min(1).default(2),
  /** The MAD is at least this fraction of the median, so a perfectly flat history does not make any wobble a spike. */
  mad_floor_ratio: z.number().min(0).max(1).default(0.05),
});

const link = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  capacity_mbps: z.number().positive(),
});

const capacity = z.strictObject({
  /** Utilization (p95 / capacity) at which a VM or link is a warning … */
  warning: z.number().gt(0).max(10).default(0.6),
  /** … and critical. */
  critical: z.number().gt(0).max(10).default(0.7),
  /** Trailing weeks the trend (and projected date of reaching critical) is fitted over. */
  trend_weeks: z.number().int().min(1).max(52).default(4),
  /** A VM or link is at risk when it is projected to reach critical within this many days. */
  horizon_days: z.number().int().min(1).max(3650).default(90),
  /** Capacity of segment-pair links; a pair not listed gets the smaller side's summed VM capacity. */
  links: z.array(link).default([]),
  /** Fewer daily peaks than this and no trend is fitted (the report says so). */
  min_trend_days: z.number().int().min(3).max(365).default(5),
  /** A rise below this many utilization points a day is flat, however regular: nobody plans for 0.01 pp a day. */
  min_slope_per_day: z.number().min(0).default(0.0005),
  /** Short-term forecast for ramps within a day: the trailing hours of the period fitted … */
  short_term_hours: z.number().int().min(4).max(168).default(24),
  /** … and an entity projected to reach critical within this many hours is at risk now. */
  short_term_horizon_hours: z.number().int().min(1).max(168).default(24),
});

export const analyticsConfigSchema = z
  .strictObject({
    fan_out: fanOut.default(fanOut.parse({})),
    host_sweep: hostSweep.default(hostSweep.parse({})),
    port_scan: portScan.default(portScan.parse({})),
    exfiltration: exfiltration.default(exfiltration.parse({})),
    new_talkers: newTalkers.default(newTalkers.parse({})),
    volume: volume.default(volume.parse({})),
    capacity: capacity.default(capacity.parse({})),
  })
  .superRefine((value, ctx) => {
    if (value.capacity.warning >= value.capacity.critical) {
      ctx.addIssue({ code: 'custom', path: ['capacity', 'warning'], message: 'warning must be below critical' });
    }
  });

export const reportsConfigSchema = z.strictObject({
  /** Formats written by the daily reports and by `netflow report` when --format is not given. */
  formats: z
    .array(z.enum(['html', 'json', 'csv']))
    .min(1)
    .default(['html', 'json', 'csv']),
  /** Rows in the top-offenders table. */
  top_offenders: z.number().int().min(1).max(1000).default(10),
  /** Evidence flows shown per rule. */
  evidence_samples: z.number().int().min(1).max(100).default(5),
  /** Anomalies shown on the page ("N of M"); the JSON and CSV hold them all. */
  top_anomalies: z.number().int().min(1).max(1000).default(20),
  /** Control mapping file (frameworks → controls → rule ids; schemas/reference/controls.ts), e.g. `@samples/reference/controls.yaml`; without it the report passes and fails rules only. */
  controls: z.string().min(1).optional(),
  /** A partition first published later than its hour + 1h + lateness + this is reported as late. */
  late_after: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/)
    .default('1h'),
});

/** Segmentation recommendations (`recommend:`): what traffic is enough to learn a rule from, and which ports are never learned unless asked. */
export const recommendConfigSchema = z.strictObject({
  /** A port is recommended only with at least this many tolerated flows in the period … */
  min_flows: z.number().int().min(1).default(10),
  /** … seen in at least this many distinct hours. */
  min_hours: z.number().int().min(1).default(3),
  /** Never recommended without `netflow recommend --allow-high-risk`: remote administration, file sharing, container control. */
  high_risk_ports: z.array(z.number().int().min(0).max(65535)).default([22, 23, 135, 137, 138, 139, 445, 2375, 2379, 3389, 5900, 5985, 5986]),
  /** End each destination segment's recommendations with a default deny of the ports nothing allows. */
  default_deny: z.boolean().default(true),
  /** The default deny covers ports below this (answers to clients land on ephemeral ports). */
  ephemeral_from: z.number().int().min(1024).max(65535).default(32768),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;
export type RecommendConfig = z.infer<typeof recommendConfigSchema>;
export const DEFAULT_RECOMMEND_CONFIG: RecommendConfig = recommendConfigSchema.parse({});
export type ReportsConfig = z.infer<typeof reportsConfigSchema>;
export const DEFAULT_ANALYTICS_CONFIG: AnalyticsConfig = analyticsConfigSchema.parse({});
export const DEFAULT_REPORTS_CONFIG: ReportsConfig = reportsConfigSchema.parse({});
