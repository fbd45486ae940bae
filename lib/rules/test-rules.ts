import type { Rule } from '../../schemas/reference/rules.ts';
import type { DuckDbSession } from '../duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { compileRuleEvaluation, CONNECTION_OF_RECORD_SQL } from './compile-rules.ts';

/** Counts of connections (CONNECTION_OF_RECORD: every observer's records of one are one), as the compliance report and the alerts count them. */
export interface RuleTestRow {
  rule_id: string;
  /** Connections the rule looks at (its ports, protocol, direction, action and selected ends). */
  matched: number;
  /** Of those, connections that breach it before exceptions. */
  breaching: number;
  /** Breaching connections an exception in force excuses. */
  excused: number;
  /** Connections that violate it: what a run would alert on. */
  violating: number;
}

/**
 * Dry-runs rules over one published hour: the `flows` view of a lake session (published rows,
 * enrichment as published) filtered to the hour stands in for `flows_enriched`. Reads only;
 * nothing is written to the store.
 */
export async function testRulesOnHour(session: DuckDbSession, rules: readonly Rule[], hour: Date): Promise<{ flows: number; connections: number; rows: RuleTestRow[] }> {
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  const end = new Date(hour.getTime() + 3_600_000);
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  await session.run(`CREATE OR REPLACE TEMP TABLE flows_enriched AS SELECT * FROM flows WHERE start_at >= CAST($1 AS TIMESTAMP) AND start_at < CAST($2 AS TIMESTAMP)`, [ts(hour), ts(end)]);
  const [{ n, connections }] = (await session.all<{ n: bigint; connections: bigint }>(`SELECT count(*) AS n, count(DISTINCT ${CONNECTION_OF_RECORD_SQL}) AS connections FROM flows_enriched`)) as [
    { n: bigint; connections: bigint },
  ];
  const rows = await session.execute<Record<string, string | bigint>>(compileRuleEvaluation(rules, 'flows_enriched', 'connections'));
  return {
    flows: Number(n),
    connections: Number(connections),
    rows: rows.map((row) => ({
      rule_id: String(row.rule_id),
      matched: Number(row.matched),
      breaching: Number(row.breaching),
      excused: Number(row.excused),
      violating: Number(row.violating),
    })),
  };
}
