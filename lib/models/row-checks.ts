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
  return (await scanRowChecks(session, relation, checks)).failed;
}

/** The relation's row count and its failed checks (failedRowChecks), in the same one scan. */
export async function scanRowChecks(session: DuckDbSession, relation: string, checks: readonly RowCheck[]): Promise<{ rows: number; failed: { label: string; rows: number }[] }> {
  const counts = checks.map((check, index) => `, count(*) FILTER (WHERE ${check.failing}) AS c${index}`).join('');
  const [row] = await session.all<Record<string, bigint>>(`SELECT count(*) AS n${counts} FROM ${relation}`);
  return {
    rows: Number(row!.n),
    failed: checks.map((check, index) => ({ label: check.label, rows: Number(row![`c${index}`]) })).filter((check) => check.rows > 0),
  };
}
