import type { ReportKind } from '../../lib/reports/report-chain.ts';
import { parseReportPeriod, type ReportPeriod } from '../../lib/reports/report-period.ts';
import type { ChainVerification } from '../../lib/reports/verify-report-chain.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { formatRows, terminalSafe } from '../format-rows.ts';

export const REPORT_VERIFY_HELP = `netflow report verify [--kind compliance|capacity] [--from <DATE|HOUR> --to <DATE|HOUR>] [--inputs] [--expect-head SHA256] [--format table|json]

Checks that the reports in the store are the ones written. Each report generation has a manifest
(reports/<kind>/<date>/<generation>/_report-manifest.json: the SHA-256 and size of every file
written, the lake files read, and the SHA-256 of the previous manifest), and each manifest a
numbered link, reports/<kind>/_chain/<seq>.json, created only if absent. verify walks each kind's
chain from link 1 and re-hashes every link's manifest, every report file, and checks every
'previous' hash, the link numbers (no gap, none swapped) and that every object under
reports/<kind>/ is reached from a link. One row per report, then every problem with the object
it concerns and what differs (bytes changed, file missing, link reordered or removed, sequence gap,
unexpected object).
  --kind        one chain (default: both)
  --from/--to   re-hash the files of reports whose period overlaps these UTC dates or hours only
                (links and manifests are always all checked)
  --inputs      also re-hash the lake files each report read, where they still exist (superseded
                versions are collected after publish.grace_period and are counted as absent)
  --expect-head the SHA-256 of a manifest kept outside the store (each report logs its
                chain_head_sha256): it must still be in the chain. Without it, whoever can write
                the store can rewrite the newest report and its manifest and link unnoticed; every
                earlier one is covered by the next manifest's 'previous' hash. Needs --kind.
  --format      table (default) or json (one object per chain)
Exit code 0 when every chain is intact, 1 when anything differs.`;

export async function reportVerifyCommand(context: CliContext, options: { kind?: string; from?: string; to?: string; format?: string; inputs: boolean; expectHead?: string }): Promise<number> {
  if (options.kind !== undefined && options.kind !== 'compliance' && options.kind !== 'capacity') throw new UsageError(`--kind takes compliance or capacity, got "${options.kind}"`);
  if ((options.from === undefined) !== (options.to === undefined)) throw new UsageError('report verify takes --from and --to together (or neither, for every report)');
  const format = options.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`report verify --format takes table or json, got "${format}"`);
  if (options.expectHead !== undefined && !/^[0-9a-f]{64}$/.test(options.expectHead)) throw new UsageError(`--expect-head takes a SHA-256 (64 lowercase hex digits), got "${options.expectHead}"`);
  if (options.expectHead !== undefined && options.kind === undefined) throw new UsageError('--expect-head anchors one chain: give --kind compliance or --kind capacity');
  let period: ReportPeriod | undefined;
  try {
    if (options.from !== undefined) period = parseReportPeriod(options.from, options.to!);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { verifyReportChain } = await import('../../lib/reports/verify-report-chain.ts');
  const kinds: ReportKind[] = options.kind ? [options.kind] : ['compliance', 'capacity'];
  let intact = true;
  for (const kind of kinds) {
    const logger = context.logger.child({ job: 'report-verify', kind });
    const result = await verifyReportChain(context.store, { kind, inputs: options.inputs, ...(period ? { period } : {}), ...(options.expectHead ? { expectHead: options.expectHead } : {}) });
    intact &&= result.status === 'intact';
    const fields = { links: result.links, head_seq: result.head?.seq ?? null, head_sha256: result.head?.sha256 ?? null, problems: result.problems.length };
    if (result.status === 'intact') logger.info('report chain intact', fields);
    else logger.error('report chain broken', { ...fields, first_problem: result.problems[0]!.message });
    context.stdout(format === 'json' ? `${JSON.stringify(result)}\n` : renderVerification(result, options.inputs));
  }
  return intact ? 0 : 1;
}

function renderVerification(result: ChainVerification, inputs: boolean): string {
  const rows = result.reports
    .filter((check) => check.in_scope || check.status === 'failed')
    .map((check) => ({
      link: check.seq,
      period: check.period ?? '',
      generated_at: check.generated_at?.slice(0, 19) ?? '',
      files: check.in_scope ? check.files_checked : 'not in period',
      ...(inputs ? { inputs: check.in_scope ? `${check.inputs_checked} checked, ${check.inputs_absent} absent` : '' } : {}),
      status: check.status,
      problems: check.problems.length || '',
    }));
  const lines = [`${result.kind} reports: ${result.links} link(s) in ${`reports/${result.kind}/_chain/`}`];
  if (rows.length > 0) lines.push(formatRows(rows, ['link', 'period', 'generated_at', 'files', ...(inputs ? ['inputs'] : []), 'status', 'problems'], 'table').trimEnd());
  for (const problem of result.problems) lines.push(`  ${problem.kind}: ${terminalSafe(problem.message)}`);
  const head = result.head ? `head link ${result.head.seq}, sha256 ${result.head.sha256 ?? '(unreadable)'}` : 'no links';
  const anchor = result.anchor ? `; --expect-head found at link ${result.anchor.seq}${result.anchor.links_after > 0 ? ` (${result.anchor.links_after} newer link(s) not covered by it)` : ''}` : '';
  lines.push(result.status === 'intact' ? `${result.kind} chain intact: ${head}${anchor}` : `${result.kind} chain BROKEN: ${result.problems.length} problem(s); ${head}`);
  return `${lines.join('\n')}\n`;
}
