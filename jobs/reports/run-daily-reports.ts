import { performance } from 'node:perf_hooks';
import { buildCapacityReport } from '../../lib/reports/capacity-report.ts';
import { buildComplianceReport } from '../../lib/reports/compliance-report.ts';
import type { ReportContext } from '../../lib/reports/report-context.ts';
import type { ReportPeriod } from '../../lib/reports/report-period.ts';
import { writeReport, type ReportFormat, type WrittenReport } from '../../lib/reports/write-report.ts';

export type ReportKind = 'compliance' | 'capacity';

export interface ReportJobResult {
  kind: ReportKind;
  status: 'written' | 'failed';
  written?: WrittenReport;
  durationMs: number;
  /** Written, but not to be taken at face value: an empty or partly missing period (the report states it on its first page). */
  warnings: string[];
  error?: string;
}

export interface DailyReportsResult {
  status: 'written' | 'failed';
  date: string;
  reports: ReportJobResult[];
}

/** Builds one report for a period and writes it; never throws, the result says what happened. */
export async function runReport(context: ReportContext, kind: ReportKind, period: ReportPeriod, options: { formats?: readonly ReportFormat[]; outDir?: string } = {}): Promise<ReportJobResult> {
  const started = performance.now();
  const logger = context.logger.child({ job: 'report', kind, from: period.from.toISOString(), to: period.to.toISOString() });
  try {
    const report = kind === 'compliance' ? await buildComplianceReport(context, period) : await buildCapacityReport(context, period);
    const written = await writeReport({ store: context.store, report, period, formats: options.formats ?? context.config.reports.formats, ...(options.outDir ? { outDir: options.outDir } : {}) });
    const durationMs = Math.round(performance.now() - started);
    const warnings = report.kind === 'compliance' && report.completeness.message ? [report.completeness.message] : [];
    if (warnings.length > 0) logger.warn('report of an incomplete period', { completeness: report.kind === 'compliance' ? report.completeness.status : undefined, warning: warnings[0] });
    // The head hash, logged where it can be kept apart from the store, is what anchors the chain's last link (netflow report verify --expect-head).
    logger.info('report written', { prefix: written.prefix, files: written.files.length, duration_ms: durationMs, chain_seq: written.chain.seq, chain_head_sha256: written.chain.manifest_sha256 });
    return { kind, status: 'written', written, durationMs, warnings };
  } catch (error) {
    const message = (error as Error).message;
    logger.error('report failed', { error: message });
    return { kind, status: 'failed', durationMs: Math.round(performance.now() - started), warnings: [], error: message };
  }
}

/**
 * The daily reports for one UTC day (`YYYY-MM-DD`, or any time within it): the compliance audit
 * and the capacity report, in the configured formats, to `reports/<kind>/<date>/<generation>/`. The
 * scheduler calls it at `scheduler.daily_at` for the previous day; rerunning it writes a new
 * generation and chain link, and keeps the earlier ones (lib/reports/report-chain.ts).
 */
export async function runDailyReports(context: ReportContext, date: string | Date): Promise<DailyReportsResult> {
  const day = typeof date === 'string' ? date.slice(0, 10) : date.toISOString().slice(0, 10);
  const from = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(from.getTime())) return { status: 'failed', date: day, reports: [{ kind: 'compliance', status: 'failed', durationMs: 0, warnings: [], error: `not a date: ${String(date)}` }] };
  const period = { from, to: new Date(from.getTime() + 86_400_000) };
  const reports = [await runReport(context, 'compliance', period), await runReport(context, 'capacity', period)];
  return { status: reports.every((report) => report.status === 'written') ? 'written' : 'failed', date: day, reports };
}
