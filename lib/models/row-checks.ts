import type { DuckDbSession } from '../duckdb/duckdb-session.ts';

/** A condition no row may meet (SQL over the relation's columns), and what a row meeting it is. */
export interface RowCheck {
  label: string;
  failing: string;
}

/**
 * How many rows of `relation` meet each check's failing condition, in one scan (the model
 * runner's not_null and accepted_values tests, the export's table contracts): the checks some row
 * fails, in the order given.
 */
export async function failedRowChecks(session: DuckDbSession, relation: string, checks: readonly RowCheck[]): Promise<{ label: string; rows: number }[]> {
  if (checks.length === 0) return [];
  const [counts] = await session.all<Record<string, bigint>>(`SELECT ${checks.map((check, index) => `count(*) FILTER (WHERE ${check.failing}) AS c${index}`).join(', ')} FROM ${relation}`);
  return checks.map((check, index) => ({ label: check.label, rows: Number(counts![`c${index}`]) })).filter((check) => check.rows > 0);
}
