import { z } from 'zod';
import { ValidationError } from '../config/yaml-file.ts';
import type { ThreatEntry, ThreatListConfig } from '../../schemas/reference/threat-lists.ts';
import { readCsv, readReferenceText } from './reference-file.ts';

const entrySchema = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]);

/** One threat list with its path resolved. */
export type ThreatListSource = ThreatListConfig;

/**
 * Reads one list. Plain lists and FireHOL netsets: one address or CIDR per line; `#` and `;`
 * start comments (FireHOL's header is comments); blank lines are skipped. CSV: the named column.
 * An entry that is neither an address nor a CIDR is an error with its line: a feed that changed
 * shape must not silently shrink to nothing.
 */
export async function readThreatList(source: ThreatListSource): Promise<ThreatEntry[]> {
  const text = await readReferenceText(source.path);
  const problems: string[] = [];
  const entries: ThreatEntry[] = [];
  const add = (value: string, line: number, column?: string) => {
    if (entrySchema.safeParse(value).success) entries.push({ list: source.name, cidr: value });
    else problems.push(`line ${line}: ${column ? `${column}: ` : ''}"${value.slice(0, 80)}" is not an IP address or CIDR`);
  };
  if (source.format === 'csv') {
    const table = readCsv(source.path, text, source.delimiter);
    const index = table.header.indexOf(source.column!);
    if (index < 0) throw new ValidationError(source.path, [`line 1: no column "${source.column}" in the header (columns: ${table.header.join(', ')})`]);
    for (const record of table.records) {
      const value = record.fields[index]?.trim() ?? '';
      if (value !== '') add(value, record.line, source.column);
    }
  } else {
    text.split(/\r?\n/).forEach((raw, index) => {
      const value = raw.replace(/[#;].*$/, '').trim();
      if (value !== '') add(value, index + 1);
    });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    throw new ValidationError(source.path, shown);
  }
  return entries;
}

export async function loadThreatLists(sources: readonly ThreatListSource[]): Promise<ThreatEntry[]> {
  const names = new Set<string>();
  for (const source of sources) {
    if (names.has(source.name)) throw new ValidationError(source.path, [`name: two threat lists are named "${source.name}"`]);
    names.add(source.name);
  }
  return (await Promise.all(sources.map(readThreatList))).flat();
}
