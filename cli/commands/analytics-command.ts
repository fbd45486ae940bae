import { parseReportPeriod } from '../../lib/reports/report-period.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { formatHoursSummary } from '../hours-summary.ts';
import { createProgress } from '../progress.ts';

const ANALYTICS_HELP = `netflow analytics --from <DATE|HOUR> [--to <DATE|HOUR>] [--force] [--config FILE]

Runs the analytics job for the event hours of the period (both ends inclusive; --to defaults to
--from): reads the curated flows of those hours and of the trailing days through the manifests,
and publishes the anomalies (one finding per kind, source and hour: fan-out, host sweeps, port
scans, new talkers, volume spikes, slow exfiltration) and capacity_hourly partitions of each hour.
A detector whose look-back holds less than its min_history_hours reports nothing (cold start); the
summary lists the hour under "needs attention". Hours without published flows are skipped; hours
whose published partitions were made from the same inputs are current and left alone (--force
rebuilds them). Thresholds: analytics.* in the configuration. Prints how many hours were published
(with their anomalies), current, skipped (no published flows) and failed, the hours that need
attention (failures, cold starts), then the anomalies of severity medium and above. A progress
line (hours, ETA) is drawn on a terminal.`;

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
  const progress = createProgress('hours analysed', context);
  const result = await runHourlyAnalytics({
    config: context.config,
    baseDir: context.baseDir,
    store: context.store,
    logger: context.logger,
    from: period.from,
    to: period.to,
    stdout: context.stdout,
    force: options.force === true,
    onHourDone: (done, total) => progress.update(done, total),
  });
  progress.done();
  const count = (status: string) => result.hours.filter((hour) => hour.status === status).length;
  const attention = result.hours.flatMap((hour) => [
    ...(hour.status === 'failed' ? [`${hour.hour}  failed: ${hour.error ?? result.error ?? 'failed'}`] : []),
    ...(hour.coldStart.length ? [`${hour.hour}  cold start, no findings from: ${hour.coldStart.map((d) => `${d.detector} (${d.history_hours}/${d.min_history_hours} h of history)`).join(', ')}`] : []),
  ]);
  const published = result.hours.filter((hour) => hour.status === 'published');
  context.stdout(
    formatHoursSummary(
      `analytics ${options.from} .. ${options.to ?? options.from}`,
      result.hours.length,
      [
        { count: published.length, label: 'published', reason: `${published.reduce((sum, hour) => sum + hour.anomalies, 0)} anomalies`, always: true },
        { count: count('current'), label: 'current', reason: 'already published from the same inputs; --force rebuilds' },
        { count: count('skipped'), label: 'skipped', reason: 'no published flows' },
        { count: count('failed'), label: 'failed', always: true },
      ],
      attention,
    ),
  );
  for (const alert of result.alerts) context.stdout(`  ${alert.severity.padEnd(6)} ${alert.kind.padEnd(17)} ${alert.hour_at.toISOString().slice(0, 13)}  ${alert.subject}\n`);
  if (result.error) context.stderr(`analytics failed: ${result.error}\n`);
  return result.status === 'published' ? 0 : 1;
}

export const analyticsCommandDefinition: CommandDefinition = {
  name: 'analytics',
  help: ANALYTICS_HELP,
  maxPositionals: 0,
  options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' } },
  run: (context, args) => {
    const from = stringOption(args, 'from');
    const to = stringOption(args, 'to');
    return analyticsCommand(context, { ...(from ? { from } : {}), ...(to ? { to } : {}), force: booleanOption(args, 'force') });
  },
};
