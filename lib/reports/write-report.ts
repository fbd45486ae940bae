import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '../storage/object-store.ts';
import type { CapacityReport } from './capacity-report.ts';
import { renderCapacityHtml } from './capacity-html.ts';
import { renderComplianceHtml } from './compliance-html.ts';
import type { ComplianceReport } from './compliance-report.ts';
import { appendToChain, generationPrefix, REPORT_MANIFEST_NAME, sha256Hex, type ChainHead } from './report-chain.ts';
import { capacityCsv, complianceCsv } from './report-csv.ts';
import { periodFolderDate, periodLabel, type ReportPeriod } from './report-period.ts';
import { packagePath } from '../process/package-root.ts';

export type ReportFormat = 'html' | 'json' | 'csv';
export type AnyReport = ComplianceReport | CapacityReport;

export interface WrittenReport {
  kind: AnyReport['kind'];
  /** `reports/<kind>/<date>/<generation>/` in the store: this generation's folder. */
  prefix: string;
  files: { name: string; key: string; sha256: string; bytes: number; localPath?: string }[];
  /** `<prefix>_report-manifest.json` and its SHA-256, which is the chain's new head. */
  manifest: { key: string; sha256: string; localPath?: string };
  chain: ChainHead;
}

/**
 * Renders a report in the requested formats and writes it to a new generation folder,
 * `reports/<kind>/<date>/<generation>/` (and to `outDir` when given), then its manifest, then its
 * link in the kind's chain (report-chain.ts). Nothing an earlier generation wrote is overwritten.
 */
export async function writeReport(options: { store: ObjectStore; report: AnyReport; period: ReportPeriod; formats: readonly ReportFormat[]; outDir?: string }): Promise<WrittenReport> {
  const { report } = options;
  const base = `${report.kind}-${periodLabel(options.period)}`;
  const prefix = generationPrefix(report.kind, periodFolderDate(options.period), report.generated_at);
  const contents: { name: string; body: string; type: string }[] = [];
  if (options.formats.includes('html')) contents.push({ name: `${base}.html`, body: report.kind === 'compliance' ? renderComplianceHtml(report) : renderCapacityHtml(report), type: 'text/html; charset=utf-8' });
  if (options.formats.includes('json')) contents.push({ name: `${base}.json`, body: `${JSON.stringify(report, null, 2)}\n`, type: 'application/json' });
  if (options.formats.includes('csv')) {
    const sections = report.kind === 'compliance' ? complianceCsv(report) : capacityCsv(report);
    for (const [section, body] of Object.entries(sections)) contents.push({ name: `${base}-${section}.csv`, body, type: 'text/csv; charset=utf-8' });
  }
  const files: WrittenReport['files'] = [];
  if (options.outDir) await mkdir(options.outDir, { recursive: true });
  for (const item of contents) {
    const bytes = Buffer.from(item.body, 'utf8');
    const key = `${prefix}${item.name}`;
    await options.store.putBytes(key, bytes, { contentType: item.type, createOnly: true });
    const file: WrittenReport['files'][number] = { name: item.name, key, sha256: sha256Hex(bytes), bytes: bytes.length };
    if (options.outDir) {
      file.localPath = path.join(options.outDir, item.name);
      await writeFile(file.localPath, bytes);
    }
    files.push(file);
  }
  const manifestKey = `${prefix}${REPORT_MANIFEST_NAME}`;
  const { head, manifestBytes } = await appendToChain(options.store, manifestKey, {
    manifest_version: 1,
    kind: report.kind,
    period: { from: report.period.from, to: report.period.to, label: periodLabel(options.period) },
    generated_at: report.generated_at,
    tool: await toolVersion(),
    outputs: files.map(({ name, key, sha256, bytes }) => ({ name, key, sha256, bytes })),
    inputs: report.inputs.map(({ table, key, sha256, rows, bytes }) => ({ table, key, sha256, rows, bytes })),
  });
  const manifest: WrittenReport['manifest'] = { key: manifestKey, sha256: head.manifest_sha256 };
  if (options.outDir) {
    manifest.localPath = path.join(options.outDir, `${base}.manifest.json`);
    await writeFile(manifest.localPath, manifestBytes);
  }
  return { kind: report.kind, prefix, files, manifest, chain: head };
}

let tool: Promise<{ name: string; version: string }> | undefined;

function toolVersion(): Promise<{ name: string; version: string }> {
  tool ??= readFile(packagePath('package.json'), 'utf8').then((text) => {
    const { name, version } = JSON.parse(text) as { name: string; version: string };
    return { name, version };
  });
  return tool;
}
