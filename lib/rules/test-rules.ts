import type { Rule } from '../../schemas/reference/rules.ts';
import type { DuckDbSession } from '../duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { compileRuleEvaluation } from './compile-rules.ts';

export interface RuleTestRow {
  rule_id: string;
  /** Flows the rule looks at (its ports, protocol, direction, action and selected ends). */
  matched: number;
  /** Of those, flows that breach it before exceptions. */
  breaching: number;
  /** Breaching flows an exception in force excuses. */
  excused: number;
  /** Flows that violate it: what a run would publish as violations. */
  violating: number;
}

/**
 * Dry-runs rules over one published hour: the `flows` view of a lake session (published rows,
 * enrichment as published) filtered to the hour stands in for `flows_enriched`. Reads only;
 * nothing is written to the store.
 */
export async function testRulesOnHour(session: DuckDbSession, rules: readonly Rule[], hour: Date): Promise<{ flows: number; rows: RuleTestRow[] }> {
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  const end = new Date(hour.getTime() + 3_600_000);
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  await session.run(`CREATE OR REPLACE TEMP TABLE flows_enriched AS SELECT * FROM flows WHERE start_at >= CAST($1 AS TIMESTAMP) AND start_at < CAST($2 AS TIMESTAMP)`, [ts(hour), ts(end)]);
  const [{ n }] = (await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM flows_enriched`)) as [{ n: bigint }];
  const rows = await session.execute<Record<string, string | bigint>>(compileRuleEvaluation(rules, 'flows_enriched'));
  return {
    flows: Number(n),
    rows: rows.map((row) => ({
      rule_id: String(row.rule_id),
      matched: Number(row.matched),
      breaching: Number(row.breaching),
      excused: Number(row.excused),
      violating: Number(row.violating),
    })),
  };
}
