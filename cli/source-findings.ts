import type { HourlyEtlResult } from '../jobs/hourly-etl.ts';
import { SOURCE_TYPES } from '../lib/sources/source-definition.ts';
import { formatRows } from './format-rows.ts';

/** What the runs of some hours read and found in one source (the demo's summary, data/samples/README.md). */
export interface SourceFindings {
  source: string;
  objects: number;
  objects_quarantined: number;
  records_read: number;
  flows_published: number;
  /** Records of neighbouring hours in the objects read: their own hour's run publishes them. */
  other_hours: number;
  /** NODATA and SKIPDATA records (AWS, OCI quality events): no flow to publish. */
  nodata_skipdata: number;
  quarantined: number;
  violations: number;
  alerts: number;
}

export const SOURCE_FINDINGS_COLUMNS: readonly (keyof SourceFindings)[] = [
  'source',
  'objects',
  'objects_quarantined',
  'records_read',
  'flows_published',
  'other_hours',
  'nodata_skipdata',
  'quarantined',
  'violations',
  'alerts',
];

/** Every figure 0: the counts are SOURCE_FINDINGS_COLUMNS but the source's name. */
const emptyFindings = (source: string): SourceFindings => ({ ...(Object.fromEntries(SOURCE_FINDINGS_COLUMNS.map((column) => [column, 0])) as Omit<SourceFindings, 'source'>), source });

/**
 * One row per source the runs read, in the order of SOURCE_TYPES, then a `total` row. A source's
 * alerts are those it observed (`observed_by`); an alert several sources observed counts in each
 * of their rows and once in the total. Violations are the violations table's rows of the source.
 * A record of another hour is read by each run whose window holds its object, so records_read
 * is reads: records_read = flows_published + other_hours + nodata_skipdata + quarantined (+ late).
 */
export function sourceFindingsOf(results: readonly Pick<HourlyEtlResult, 'countsBySource' | 'alerts'>[], violationsBySource: Readonly<Record<string, number>>): SourceFindings[] {
  const rows = new Map<string, SourceFindings>();
  const rowOf = (source: string) => {
    let row = rows.get(source);
    if (!row) rows.set(source, (row = emptyFindings(source)));
    return row;
  };
  for (const result of results) {
    for (const [source, counts] of Object.entries(result.countsBySource)) {
      const row = rowOf(source);
      row.objects += counts.objects;
      row.objects_quarantined += counts.objects_quarantined;
      row.records_read += counts.records_read;
      row.flows_published += counts.flows_published;
      row.other_hours += counts.other_hour;
      row.nodata_skipdata += counts.nodata + counts.skipdata;
      row.quarantined += counts.quarantined;
    }
    for (const alert of result.alerts) {
      for (const source of new Set(alert.observed_by.map((point) => point.slice(0, point.indexOf(':'))))) rowOf(source).alerts++;
    }
  }
  for (const [source, violations] of Object.entries(violationsBySource)) rowOf(source).violations += violations;
  const order = (source: string) => {
    const index = (SOURCE_TYPES as readonly string[]).indexOf(source);
    return index < 0 ? SOURCE_TYPES.length : index;
  };
  const sources = [...rows.values()].sort((a, b) => order(a.source) - order(b.source) || a.source.localeCompare(b.source));
  const total = emptyFindings('total');
  for (const row of sources) for (const column of SOURCE_FINDINGS_COLUMNS) if (column !== 'source' && column !== 'alerts') total[column] += row[column];
  total.alerts = results.reduce((sum, result) => sum + result.alerts.length, 0);
  return [...sources, total];
}

/** The findings as an aligned table for people. */
export function formatSourceFindings(rows: readonly SourceFindings[]): string {
  return formatRows(rows as unknown as Record<string, unknown>[], [...SOURCE_FINDINGS_COLUMNS], 'table');
}
