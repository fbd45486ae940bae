import { sql } from 'kysely';
import type { Rule } from '../../schemas/reference/rules.ts';
import type { CompiledSql, DuckDbSession } from '../duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { CONNECTION_OF_RECORD, ruleCondition } from '../rules/compile-rules.ts';
import { createQueryBuilder } from '../sql/query-builder.ts';

/** Traffic of a later period the recommended set would have flagged, grouped per rule, source, destination and port. */
export interface FlaggedTraffic {
  rule_id: string;
  /** `new source`: an allow rule's port reached from a source it does not list; `new port`: a port the default deny closes. */
  reason: 'new source' | 'new port';
  src: string;
  dst_segment: string;
  protocol: number;
  dst_port: number | null;
  flows: number;
  first_seen_at: Date;
  last_seen_at: Date;
  sample_flow_ids: string[];
}

/**
 * The recommended rules (only them: the rules file's own rules already report what they flag)
 * over the published flows of `period`, as the hourly job would evaluate them. Values bound.
 * `flows` counts connections: two observers' records of one connection are one.
 */
export function compileEvaluation(rules: readonly Rule[], period: { from: Date; to: Date }): CompiledSql {
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  const parts = rules.map(
    (rule) => sql`select cast(${rule.id} as varchar) as rule_id, cast(${rule.kind === 'deny' ? 'new port' : 'new source'} as varchar) as reason,
      coalesce(src_segment, case when src_is_public and src_vm_id is null then 'internet' end, src_ip) as src, dst_segment, protocol, dst_port,
      count(distinct ${CONNECTION_OF_RECORD}) as flows, min(start_at) as first_seen_at, max(end_at) as last_seen_at, list_sort(list(flow_id))[1:5] as sample_flow_ids
      from flows
      where start_at >= cast(${ts(period.from)} as timestamp) and start_at < cast(${ts(period.to)} as timestamp) and ${ruleCondition(rule)}
      group by all`,
  );
  const query = parts.length === 0 ? sql`select null as rule_id where false` : sql`select * from (${sql.join(parts, sql` union all `)}) order by flows desc, rule_id, src, dst_port`;
  const compiled = query.compile(createQueryBuilder<Record<string, never>>());
  return { sql: compiled.sql, parameters: compiled.parameters };
}

export async function evaluateRecommendations(session: DuckDbSession, rules: readonly Rule[], period: { from: Date; to: Date }): Promise<FlaggedTraffic[]> {
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  const rows = await session.execute<Record<string, unknown>>(compileEvaluation(rules, period));
  return rows.map((row) => ({
    rule_id: String(row.rule_id),
    reason: row.reason as FlaggedTraffic['reason'],
    src: String(row.src),
    dst_segment: String(row.dst_segment),
    protocol: Number(row.protocol),
    dst_port: row.dst_port === null ? null : Number(row.dst_port),
    flows: Number(row.flows),
    first_seen_at: row.first_seen_at as Date,
    last_seen_at: row.last_seen_at as Date,
    sample_flow_ids: row.sample_flow_ids as string[],
  }));
}
