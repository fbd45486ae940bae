import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { Rule, Selector } from '../../schemas/reference/rules.ts';
import type { CompiledSql } from '../duckdb/duckdb-session.ts';
import { compileSql, createQueryBuilder } from '../sql/query-builder.ts';

/**
 * Compiles the rules file into one SELECT that lists (flow_id, rule_id) for every violation in
 * `flows_enriched`. Every value from the rules file is a bound parameter; only column names
 * chosen here are written into the SQL text.
 */
type Side = 'src' | 'dst';

interface EnrichedFlows {
  flows_enriched: {
    flow_id: string;
    src_ip: string;
    dst_ip: string;
    dst_port: number | null;
    protocol: number;
    direction: string | null;
    action: string | null;
  };
}

export const PROTOCOL_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };

const TRUE: RawBuilder<SqlBool> = sql<SqlBool>`true`;

export function selectorCondition(selector: Selector, side: Side): RawBuilder<SqlBool> {
  const col = (name: string) => sql.ref(`${side}_${name}`);
  if ('ip' in selector) return sql<SqlBool>`${col('ip')} = ip_canonical(${selector.ip})`;
  if ('cidr' in selector) {
    return sql<SqlBool>`(ip_family(${col('ip')}) = cidr_family(${selector.cidr}) and ip_to_uhugeint(${col('ip')}) between cidr_start(${selector.cidr}) and cidr_end(${selector.cidr}))`;
  }
  if ('vm' in selector) return sql<SqlBool>`${col('vm_id')} = ${selector.vm}`;
  if ('tag' in selector) return sql<SqlBool>`list_contains(${col('tags')}, ${selector.tag})`;
  if ('segment' in selector) return sql<SqlBool>`${col('segment')} = ${selector.segment}`;
  if ('account' in selector) return sql<SqlBool>`${col('account_id')} = ${selector.account}`;
  if ('internet' in selector) return sql<SqlBool>`(${col('is_public')} and ${col('vm_id')} is null)`;
  return TRUE;
}

function unknownEndpoint(side: Side, scope: 'private' | 'all'): RawBuilder<SqlBool> {
  const col = (name: string) => sql.ref(`${side}_${name}`);
  const unknown = sql<SqlBool>`(${col('cidr')} is null and ${col('vm_id')} is null)`;
  return scope === 'all' ? unknown : sql<SqlBool>`(not ${col('is_public')} and ${unknown})`;
}

function trafficConditions(rule: Rule): RawBuilder<SqlBool>[] {
  const conditions: RawBuilder<SqlBool>[] = [];
  if (rule.ports && rule.ports.length > 0) {
    const alternatives = rule.ports.map((port) => {
      if (typeof port === 'number') return sql<SqlBool>`dst_port = ${port}`;
      const [low, high] = port.split('-').map(Number) as [number, number];
      return sql<SqlBool>`dst_port between ${low} and ${high}`;
    });
    conditions.push(sql<SqlBool>`(${sql.join(alternatives, sql` or `)})`);
  }
  if (rule.protocol !== undefined) {
    const number = typeof rule.protocol === 'number' ? rule.protocol : PROTOCOL_NUMBERS[rule.protocol]!;
    conditions.push(sql<SqlBool>`protocol = ${number}`);
  }
  if (rule.direction) conditions.push(sql<SqlBool>`direction = ${rule.direction}`);
  // Agents see traffic that reached the VM, so a record without an action counts as accepted.
  if (rule.action !== 'any') conditions.push(sql<SqlBool>`coalesce(action, 'accept') = ${rule.action}`);
  return conditions;
}

export function ruleCondition(rule: Rule): RawBuilder<SqlBool> {
  const conditions = trafficConditions(rule);
  switch (rule.kind) {
    case 'deny':
      conditions.unshift(selectorCondition(rule.from, 'src'), selectorCondition(rule.to, 'dst'));
      break;
    case 'allow_only': {
      const allowed = rule.from.map((selector) => selectorCondition(selector, 'src'));
      conditions.unshift(selectorCondition(rule.to, 'dst'), sql<SqlBool>`not (${sql.join(allowed, sql` or `)})`);
      break;
    }
    case 'require_known':
      conditions.unshift(sql<SqlBool>`(${unknownEndpoint('src', rule.scope)} or ${unknownEndpoint('dst', rule.scope)})`);
      break;
  }
  return conditions.length === 0 ? TRUE : sql<SqlBool>`${sql.join(conditions, sql` and `)}`;
}

export function compileRuleViolations(rules: readonly Rule[]): CompiledSql {
  const db = createQueryBuilder<EnrichedFlows>();
  if (rules.length === 0) {
    return { sql: 'select cast(null as varchar) as flow_id, cast(null as varchar) as rule_id where false', parameters: [] };
  }
  const perRule = rules.map((rule) =>
    db
      .selectFrom('flows_enriched')
      .select([sql.ref<string>('flow_id').as('flow_id'), sql<string>`cast(${rule.id} as varchar)`.as('rule_id')])
      .where(ruleCondition(rule) as Expression<SqlBool>),
  );
  let query = perRule[0]!;
  for (const next of perRule.slice(1)) query = query.unionAll(next);
  return compileSql(query);
}
