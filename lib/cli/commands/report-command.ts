import path from 'node:path';
import type { ReportKind } from '../../../jobs/reports/run-daily-reports.ts';
import { parseReportPeriod } from '../../reports/report-period.ts';
import type { ReportFormat } from '../../reports/write-report.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const REPORT_HELP = `netflow report compliance|capacity --from <DATE|HOUR> --to <DATE|HOUR> [--format html,json,csv] [--out DIR] [--config FILE]

Builds a report over the published lake (read through manifests) and writes it to the object store
under reports/<kind>/<last date of the period>/, and to DIR when --out is given.
  compliance  coverage (hours expected, published, late, failed, missing, from the run ledger and
              manifests), per-rule conformant and violating counts with their trend, top offenders,
              evidence samples, rules and reference versions in force, anomalies, segmentation
              recommendations, and the SHA-256 of every input partition file.
  capacity    utilization per VM and segment pair (p95 of per-minute throughput / capacity), charts,
              and the at-risk list with the projected date of reaching critical.
--from/--to are UTC dates (2024-05-01: the whole day) or hours (2024-05-01T13), both inclusive.
Formats default to reports.formats in the configuration (html, json and csv).`;

export async function reportCommand(context: CliContext, kind: string | undefined, options: { from?: string; to?: string; format?: string; out?: string }): Promise<number> {
  if (kind !== 'compliance' && kind !== 'capacity') throw new UsageError(`report needs a kind: compliance or capacity, got ${kind === undefined ? 'nothing' : `"${kind}"`}`);
  if (!options.from || !options.to) throw new UsageError('report needs --from and --to, for example --from 2024-05-01 --to 2024-05-01');
  let period;
  try {
    period = parseReportPeriod(options.from, options.to);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const formats = options.format ? options.format.split(',').map((f) => f.trim()).filter(Boolean) : undefined;
  for (const format of formats ?? []) if (!['html', 'json', 'csv'].includes(format)) throw new UsageError(`--format takes html, json and csv (comma-separated), got "${format}"`);
  // Loaded on use: `netflow --help` and the other commands do not pay for the report modules.
  const { runReport } = await import('../../../jobs/reports/run-daily-reports.ts');
  const result = await runReport(context, kind as ReportKind, period, {
    ...(formats ? { formats: formats as ReportFormat[] } : {}),
    ...(options.out ? { outDir: path.resolve(options.out) } : {}),
  });
  if (result.status !== 'written') {
    context.stderr(`report failed: ${result.error}\n`);
    return 1;
  }
  for (const file of result.written!.files) context.stdout(`${file.key}  sha256:${file.sha256}${file.localPath ? `  ${file.localPath}` : ''}\n`);
  return 0;
}

export const reportCommandDefinition: CommandDefinition = {
  name: 'report',
  summary: 'compliance audit or capacity report for a period (HTML, JSON, CSV)',
  help: REPORT_HELP,
  options: { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } },
  run: (context, args) => {
    const pick = (name: string) => stringOption(args, name);
    return reportCommand(context, args.positionals[0], {
      ...(pick('from') ? { from: pick('from')! } : {}),
      ...(pick('to') ? { to: pick('to')! } : {}),
      ...(pick('format') ? { format: pick('format')! } : {}),
      ...(pick('out') ? { out: pick('out')! } : {}),
    });
  },
};
