import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { parseYamlText, ValidationError } from '../config/yaml-file.ts';
import { CsvSyntaxError, parseCsvText, type CsvTable } from './csv-text.ts';

/** Reads a reference file as text; a missing or unreadable file is a ValidationError naming it. */
export async function readReferenceText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ValidationError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
}

export function extensionOf(file: string): string {
  return path.extname(file).toLowerCase().replace(/^\./, '');
}

/** YAML and JSON (JSON is YAML) with the line of every problem; `pick` chooses the schema from the parsed value. */
export function parseStructured<Schema extends z.ZodType>(file: string, text: string, schema: Schema): z.output<Schema> {
  return parseYamlText(file, text, schema);
}

/** Peeks at the top-level keys of a YAML/JSON text without validating (to choose a schema). */
export function topLevelKeys(text: string): string[] {
  try {
    const value: unknown = parseYaml(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  } catch {
    return [];
  }
}

export function readCsv(file: string, text: string, delimiter = ','): CsvTable {
  try {
    return parseCsvText(text, delimiter);
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new ValidationError(file, [error.message]);
    throw error;
  }
}

/** Checks that a CSV has the required columns; returns a column-name → index lookup. */
export function csvColumns(file: string, table: CsvTable, required: readonly string[], known: readonly string[]): Map<string, number> {
  const columns = new Map(table.header.map((name, index) => [name, index] as const));
  const problems: string[] = [];
  const missing = required.filter((name) => !columns.has(name));
  if (table.header.length === 0) problems.push('line 1: the file is empty; expected a header row');
  else if (missing.length > 0) problems.push(`line 1: header is missing column(s): ${missing.join(', ')}`);
  const unknown = table.header.filter((name) => !known.includes(name));
  if (unknown.length > 0) problems.push(`line 1: unknown column(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);
  if (problems.length > 0) throw new ValidationError(file, problems);
  return columns;
}

/** Formats zod issues of a value built from CSV rows, mapping each issue path to its row's line. */
export function csvIssues(issues: readonly z.core.$ZodIssue[], lineOf: (issuePath: PropertyKey[]) => { line: number; column: string } | undefined): string[] {
  return issues.map((issue) => {
    const where = lineOf(issue.path);
    return where ? `line ${where.line}: ${where.column}: ${issue.message}` : `${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`;
  });
}
