import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../../schemas/config.ts';
import { thresholdsHash } from '../../jobs/hourly-analytics.ts';

/** The analytics and reports settings: documented defaults, strict validation, and a thresholds version that changes with them. */
describe('analytics and reports configuration', () => {
  test('defaults: the thresholds docs/reports.md states', () => {
    const config = configSchema.parse({});
    expect(config.analytics).toEqual({
      fan_out: { window: '5m', threshold: 50, baseline_days: 7, baseline_factor: 2, min_history_hours: 24 },
      host_sweep: { window: '5m', threshold: 30, baseline_days: 7, baseline_factor: 2, min_history_hours: 24 },
      port_scan: { window: '5m', threshold: 20, min_history_hours: 0 },
      exfiltration: { window_hours: 6, min_bytes: 2_000_000, min_active_hours: 3, lookback_days: 7, min_history_hours: 24 },
      new_talkers: { lookback_days: 7, min_history_hours: 24, max_listed_pairs: 20 },
      volume: { baseline_days: 14, min_points: 5, z_threshold: 3.5, min_bytes: 1_000_000, min_ratio: 2, mad_floor_ratio: 0.05 },
      capacity: { warning: 0.6, critical: 0.7, trend_weeks: 4, horizon_days: 90, links: [], min_trend_days: 5, min_slope_per_day: 0.0005, short_term_hours: 24, short_term_horizon_hours: 24 },
    });
    expect(config.reports).toEqual({ formats: ['html', 'json', 'csv'], top_offenders: 10, evidence_samples: 5, top_anomalies: 20, late_after: '1h' });
    expect(config.recommend).toEqual({
      min_flows: 10,
      min_hours: 3,
      high_risk_ports: [22, 23, 135, 137, 138, 139, 445, 2375, 2379, 3389, 5900, 5985, 5986],
      default_deny: true,
      ephemeral_from: 32768,
    });
  });

  test.each([
    { case: 'an unknown key', value: { analytics: { fan_out: { treshold: 10 } } }, message: 'treshold' },
    { case: 'a window that is not minutes', value: { analytics: { port_scan: { window: '30s' } } }, message: 'expected a window in minutes' },
    { case: 'warning at or above critical', value: { analytics: { capacity: { warning: 0.8, critical: 0.7 } } }, message: 'warning must be below critical' },
    { case: 'a volume baseline too short for a median', value: { analytics: { volume: { baseline_days: 2 } } }, message: 'analytics.volume.baseline_days' },
    { case: 'an unknown report format', value: { reports: { formats: ['pdf'] } }, message: 'reports.formats' },
  ])('rejects $case', ({ value, message }) => {
    const result = configSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(z.prettifyError(result.error!)).toContain(message);
  });

  test('the thresholds version names the settings: same settings, same version; any change, a new one', () => {
    const base = configSchema.parse({}).analytics;
    expect(thresholdsHash(base)).toBe(thresholdsHash(configSchema.parse({}).analytics));
    expect(thresholdsHash(configSchema.parse({ analytics: { port_scan: { threshold: 21 } } }).analytics)).not.toBe(thresholdsHash(base));
    expect(thresholdsHash(base)).toMatch(/^sha256:[0-9a-f]{16}$/);
  });
});
