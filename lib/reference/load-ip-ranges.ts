import { ValidationError } from '../config/yaml-file.ts';
import { awsIpRangesSchema, azureServiceTagsSchema, ipRangeSchema, ipRangesSchema, type AwsIpRanges, type AzureServiceTags, type IpRange } from '../../schemas/reference/ip-ranges.ts';
import { splitList } from './csv-text.ts';
import { csvColumns, csvIssues, extensionOf, parseStructured, readCsv, readReferenceText, topLevelKeys } from './reference-file.ts';

export type RangeFormat = 'yaml' | 'csv' | 'aws' | 'azure';

/** One configured range file with its path resolved. */
export interface RangeSource {
  path: string;
  format?: RangeFormat | undefined;
  segment?: string | undefined;
  tags?: readonly string[] | undefined;
}

export const IP_RANGE_CSV_COLUMNS = ['cidr', 'name', 'tags', 'segment'] as const;

/** The format of a range file: as configured, else AWS/Azure by their top-level keys, else by extension. */
export function rangeFormatOf(source: RangeSource, text: string): RangeFormat {
  if (source.format) return source.format;
  const extension = extensionOf(source.path);
  if (extension === 'csv') return 'csv';
  if (extension === 'json') {
    const keys = topLevelKeys(text);
    if (keys.includes('prefixes') && keys.includes('syncToken')) return 'aws';
    if (keys.includes('values') && keys.includes('changeNumber')) return 'azure';
  }
  return 'yaml';
}

export async function readRangeFile(source: RangeSource): Promise<{ format: RangeFormat; ranges: IpRange[] }> {
  const text = await readReferenceText(source.path);
  const format = rangeFormatOf(source, text);
  let ranges: IpRange[];
  switch (format) {
    case 'yaml':
      ranges = parseStructured(source.path, text, ipRangesSchema).ranges;
      break;
    case 'csv':
      ranges = parseRangeCsv(source.path, text);
      break;
    case 'aws':
      ranges = importAwsIpRanges(parseStructured(source.path, text, awsIpRangesSchema), source.segment ?? 'aws-services');
      break;
    case 'azure':
      ranges = importAzureServiceTags(parseStructured(source.path, text, azureServiceTagsSchema), source.segment ?? 'azure-services');
      break;
  }
  const extra = source.tags ?? [];
  if (extra.length > 0) ranges = ranges.map((range) => ({ ...range, tags: [...new Set([...range.tags, ...extra])].sort() }));
  return { format, ranges };
}

export async function loadIpRanges(sources: readonly RangeSource[]): Promise<IpRange[]> {
  const files = await Promise.all(sources.map(readRangeFile));
  return files.flatMap((file) => file.ranges);
}

/** CSV: `cidr,name,tags,segment` with a header row; tags separated by `;`. */
export function parseRangeCsv(file: string, text: string): IpRange[] {
  const table = readCsv(file, text);
  const columns = csvColumns(file, table, ['cidr', 'name'], IP_RANGE_CSV_COLUMNS);
  const ranges: IpRange[] = [];
  const problems: string[] = [];
  for (const record of table.records) {
    if (record.fields.length !== table.header.length) {
      problems.push(`line ${record.line}: expected ${table.header.length} fields, found ${record.fields.length}`);
      continue;
    }
    const cell = (name: string) => {
      const index = columns.get(name);
      const value = index === undefined ? undefined : record.fields[index]!.trim();
      return value === '' ? undefined : value;
    };
    const raw: Record<string, unknown> = { cidr: cell('cidr') ?? '', name: cell('name') ?? '', tags: splitList(cell('tags')) };
    const segment = cell('segment');
    if (segment !== undefined) raw.segment = segment;
    const result = ipRangeSchema.safeParse(raw);
    if (result.success) ranges.push(result.data);
    else problems.push(...csvIssues(result.error.issues, (issuePath) => ({ line: record.line, column: String(issuePath[0] ?? 'cidr') })));
  }
  if (problems.length > 0) throw new ValidationError(file, problems);
  return ranges;
}

/**
 * AWS lists a prefix once per service that uses it (`AMAZON` is the superset of all), so prefixes
 * are merged: every service becomes a `service:<name>` tag, and the range is named after the most
 * specific service.
 */
export function importAwsIpRanges(file: AwsIpRanges, segment: string): IpRange[] {
  const byPrefix = new Map<string, { services: Set<string>; regions: Set<string> }>();
  const add = (cidr: string, service: string, region: string) => {
    const entry = byPrefix.get(cidr) ?? { services: new Set(), regions: new Set() };
    entry.services.add(service);
    entry.regions.add(region);
    byPrefix.set(cidr, entry);
  };
  for (const prefix of file.prefixes) add(prefix.ip_prefix, prefix.service, prefix.region);
  for (const prefix of file.ipv6_prefixes) add(prefix.ipv6_prefix, prefix.service, prefix.region);
  return [...byPrefix].map(([cidr, { services, regions }]) => {
    const specific = [...services].filter((service) => service !== 'AMAZON').sort();
    const service = specific[0] ?? 'AMAZON';
    const region = [...regions].sort()[0]!;
    return {
      cidr,
      name: `aws-${service.toLowerCase()}-${region.toLowerCase()}`,
      tags: ['aws', ...[...services].map((s) => `service:${s.toLowerCase()}`), ...[...regions].map((r) => `region:${r.toLowerCase()}`)].sort(),
      segment,
    };
  });
}

/**
 * Azure lists a prefix under every tag that covers it (`AzureCloud`, `AzureCloud.westeurope`,
 * `Storage`, `Storage.WestEurope`, …): each becomes a `servicetag:<name>` tag, and the range is named
 * after the most specific one (a regional service tag before a global one, AzureCloud last).
 */
export function importAzureServiceTags(file: AzureServiceTags, segment: string): IpRange[] {
  const byPrefix = new Map<string, { names: Set<string>; regions: Set<string> }>();
  for (const value of file.values) {
    for (const cidr of value.properties.addressPrefixes) {
      const entry = byPrefix.get(cidr) ?? { names: new Set(), regions: new Set() };
      entry.names.add(value.name);
      if (value.properties.region) entry.regions.add(value.properties.region.toLowerCase());
      byPrefix.set(cidr, entry);
    }
  }
  const rank = (name: string) => (name.startsWith('AzureCloud') ? 2 : 0) + (name.includes('.') ? 0 : 1);
  return [...byPrefix].map(([cidr, { names, regions }]) => {
    const best = [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))[0]!;
    return {
      cidr,
      name: `azure-${best.toLowerCase().replace(/\./g, '-')}`,
      tags: ['azure', ...[...names].map((n) => `servicetag:${n.toLowerCase()}`), ...[...regions].map((r) => `region:${r}`)].sort(),
      segment,
    };
  });
}
