import path from 'node:path';
import { parseReportPeriod } from '../../lib/reports/report-period.ts';
import type { ReportFormat } from '../../lib/reports/write-report.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { REPORT_VERIFY_HELP, reportVerifyCommand } from './report-verify.ts';

const REPORT_HELP = `netflow report compliance|capacity --from <DATE|HOUR> --to <DATE|HOUR> [--format html,json,csv] [--out DIR] [--config FILE]

Builds a report over the published lake (read through manifests) and writes it to the object store
in a folder of its own, reports/<kind>/<last date of the period>/<generation>/, then its manifest
(_report-manifest.json, the SHA-256 of every file written and read) and its link in the kind's
hash chain (reports/<kind>/_chain/<seq>.json); to DIR too when --out is given. Prints each file's
key and SHA-256, the manifest's last: that is the chain's new head. Running it again for the same
period adds a generation; nothing written before is replaced.
  compliance  coverage (hours expected, published, late, failed, missing, from the run ledger and
              manifests), per-rule conformant and violating counts with their trend, top offenders,
              evidence samples, rules and reference versions in force, anomalies, segmentation
              recommendations, and the SHA-256 of every input partition file.
  capacity    utilization per VM and segment pair (p95 of per-minute throughput / capacity), charts,
              and the at-risk list with the projected date of reaching critical.
--from/--to are UTC dates (2024-05-01: the whole day) or hours (2024-05-01T13), both inclusive.
Formats default to reports.formats in the configuration (html, json and csv).
Exit codes: 0 written; 4 written, but the period is empty or partly missing (failed, missing or not
yet due hours; stated on the report's first page and on stderr); 1 failed; 2 bad usage.

${REPORT_VERIFY_HELP}`;

/** Exit code of a report written over an empty or partly missing period. */
export const REPORT_INCOMPLETE_EXIT = EXIT.incomplete;

export async function reportCommand(context: CliContext, kind: string | undefined, options: { from?: string; to?: string; format?: string; out?: string }): Promise<number> {
  if (kind !== 'compliance' && kind !== 'capacity') throw new UsageError(`report needs a kind: compliance or capacity (or verify), got ${kind === undefined ? 'nothing' : `"${kind}"`}`);
  if (!options.from || !options.to) throw new UsageError('report needs --from and --to, for example --from 2024-05-01 --to 2024-05-01');
  let period;
  try {
    period = parseReportPeriod(options.from, options.to);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const formats = options.format
    ? options.format
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : undefined;
  for (const format of formats ?? []) if (!['html', 'json', 'csv'].includes(format)) throw new UsageError(`--format takes html, json and csv (comma-separated), got "${format}"`);
  // Loaded on use: `netflow --help` and the other commands do not pay for the report modules.
  const { runReport } = await import('../../jobs/reports/run-daily-reports.ts');
  const result = await runReport({ ...context, ledger: runLedgerOf(context) }, kind, period, {
    ...(formats ? { formats: formats as ReportFormat[] } : {}),
    ...(options.out ? { outDir: path.resolve(options.out) } : {}),
  });
  if (result.status !== 'written') {
    context.stderr(`report failed: ${result.error}\n`);
    return 1;
  }
  const { files, manifest } = result.written!;
  for (const file of [...files, manifest]) context.stdout(`${file.key}  sha256:${file.sha256}${file.localPath ? `  ${file.localPath}` : ''}\n`);
  for (const warning of result.warnings) context.stderr(`warning: ${warning}\n`);
  return result.warnings.length > 0 ? REPORT_INCOMPLETE_EXIT : 0;
}

export const reportCommandDefinition: CommandDefinition = {
  name: 'report',
  help: REPORT_HELP,
  maxPositionals: 1,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    kind: { type: 'string' },
    inputs: { type: 'boolean' },
    'expect-head': { type: 'string' },
  },
  run: (context, args) => {
    const pick = (name: string) => stringOption(args, name);
    if (args.positionals[0] === 'verify') {
      if (pick('out')) throw new UsageError('--out is for writing reports, not for report verify');
      return reportVerifyCommand(context, {
        ...(pick('kind') ? { kind: pick('kind')! } : {}),
        ...(pick('from') ? { from: pick('from')! } : {}),
        ...(pick('to') ? { to: pick('to')! } : {}),
        ...(pick('format') ? { format: pick('format')! } : {}),
        ...(pick('expect-head') ? { expectHead: pick('expect-head')! } : {}),
        inputs: booleanOption(args, 'inputs'),
      });
    }
    for (const name of ['kind', 'expect-head']) if (pick(name)) throw new UsageError(`--${name} is for report verify`);
    if (booleanOption(args, 'inputs')) throw new UsageError('--inputs is for report verify');
    return reportCommand(context, args.positionals[0], {
      ...(pick('from') ? { from: pick('from')! } : {}),
      ...(pick('to') ? { to: pick('to')! } : {}),
      ...(pick('format') ? { format: pick('format')! } : {}),
      ...(pick('out') ? { out: pick('out')! } : {}),
    });
  },
};
