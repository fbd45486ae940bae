import { parseReportPeriod } from '../../lib/reports/report-period.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';

const ANALYTICS_HELP = `netflow analytics --from <DATE|HOUR> [--to <DATE|HOUR>] [--force] [--config FILE]

Runs the analytics job for the event hours of the period (both ends inclusive; --to defaults to
--from): reads the curated flows of those hours and of the trailing days through the manifests,
and publishes the anomalies (one finding per kind, source and hour: fan-out, host sweeps, port
scans, new talkers, volume spikes, slow exfiltration) and capacity_hourly partitions of each hour.
A detector whose look-back holds less than its min_history_hours reports nothing (cold start); the
line of the hour names it. Hours without published flows are skipped; hours whose published
partitions were made from the same inputs are current and left alone (--force rebuilds them). Thresholds: analytics.* in the
configuration. Prints one line per hour and the anomalies of severity medium and above.`;

export async function analyticsCommand(context: CliContext, options: { from?: string; to?: string; force?: boolean }): Promise<number> {
  if (!options.from) throw new UsageError('analytics needs --from, for example --from 2024-05-01T13');
  let period;
  try {
    period = parseReportPeriod(options.from, options.to ?? options.from);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // Loaded on use: `netflow --help` and the other commands do not pay for the analytics modules.
  const { runHourlyAnalytics } = await import('../../jobs/hourly-analytics.ts');
  const result = await runHourlyAnalytics({
    config: context.config,
    baseDir: context.baseDir,
    store: context.store,
    logger: context.logger,
    from: period.from,
    to: period.to,
    stdout: context.stdout,
    force: options.force === true,
  });
  for (const hour of result.hours) {
    const cold = hour.coldStart.length ? `  cold start: ${hour.coldStart.map((d) => `${d.detector} ${d.history_hours}/${d.min_history_hours} h`).join(', ')}` : '';
    context.stdout(`${hour.hour}  ${hour.status.padEnd(9)}  anomalies ${hour.anomalies}  capacity rows ${hour.capacityRows}${cold}${hour.error ? `  error: ${hour.error}` : ''}\n`);
  }
  for (const alert of result.alerts) context.stdout(`  ${alert.severity.padEnd(6)} ${alert.kind.padEnd(17)} ${alert.hour_at.toISOString().slice(0, 13)}  ${alert.subject}\n`);
  if (result.error) context.stderr(`analytics failed: ${result.error}\n`);
  return result.status === 'published' ? 0 : 1;
}

export const analyticsCommandDefinition: CommandDefinition = {
  name: 'analytics',
  summary: 'anomalies and capacity_hourly for event hours (reads the trailing days of flows)',
  help: ANALYTICS_HELP,
  options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' } },
  run: (context, args) => {
    const from = stringOption(args, 'from');
    const to = stringOption(args, 'to');
    return analyticsCommand(context, { ...(from ? { from } : {}), ...(to ? { to } : {}), force: booleanOption(args, 'force') });
  },
};
