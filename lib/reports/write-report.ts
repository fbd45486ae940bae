import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '../storage/object-store.ts';
import type { CapacityReport } from './capacity-report.ts';
import { renderCapacityHtml } from './capacity-html.ts';
import { renderComplianceHtml } from './compliance-html.ts';
import type { ComplianceReport } from './compliance-report.ts';
import { capacityCsv, complianceCsv } from './report-csv.ts';
import { periodFolderDate, periodLabel, type ReportPeriod } from './report-period.ts';

export type ReportFormat = 'html' | 'json' | 'csv';
export type AnyReport = ComplianceReport | CapacityReport;

export interface WrittenReport {
  kind: AnyReport['kind'];
  /** `reports/<kind>/<date>/` in the store. */
  prefix: string;
  files: { name: string; key: string; sha256: string; bytes: number; localPath?: string }[];
}

/** Renders a report in the requested formats and writes it to `reports/<kind>/<date>/` (and to `outDir` when given), with a manifest of the files last. */
export async function writeReport(options: { store: ObjectStore; report: AnyReport; period: ReportPeriod; formats: readonly ReportFormat[]; outDir?: string }): Promise<WrittenReport> {
  const { report } = options;
  const base = `${report.kind}-${periodLabel(options.period)}`;
  const prefix = `reports/${report.kind}/${periodFolderDate(options.period)}/`;
  const contents: { name: string; body: string; type: string }[] = [];
  if (options.formats.includes('html')) contents.push({ name: `${base}.html`, body: report.kind === 'compliance' ? renderComplianceHtml(report) : renderCapacityHtml(report), type: 'text/html; charset=utf-8' });
  if (options.formats.includes('json')) contents.push({ name: `${base}.json`, body: `${JSON.stringify(report, null, 2)}\n`, type: 'application/json' });
  if (options.formats.includes('csv')) {
    const sections = report.kind === 'compliance' ? complianceCsv(report) : capacityCsv(report);
    for (const [section, body] of Object.entries(sections)) contents.push({ name: `${base}-${section}.csv`, body, type: 'text/csv; charset=utf-8' });
  }
  const written: WrittenReport = { kind: report.kind, prefix, files: [] };
  if (options.outDir) await mkdir(options.outDir, { recursive: true });
  for (const item of contents) {
    const bytes = Buffer.from(item.body, 'utf8');
    const key = `${prefix}${item.name}`;
    await options.store.putBytes(key, bytes, { contentType: item.type });
    const file: WrittenReport['files'][number] = { name: item.name, key, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    if (options.outDir) {
      file.localPath = path.join(options.outDir, item.name);
      await writeFile(file.localPath, bytes);
    }
    written.files.push(file);
  }
  const manifest = `${JSON.stringify({ kind: report.kind, period: report.period, generated_at: report.generated_at, files: written.files.map(({ name, key, sha256, bytes }) => ({ name, key, sha256, bytes })) }, null, 2)}\n`;
  await options.store.putBytes(`${prefix}${base}.manifest.json`, manifest, { contentType: 'application/json' });
  if (options.outDir) await writeFile(path.join(options.outDir, `${base}.manifest.json`), manifest);
  return written;
}
