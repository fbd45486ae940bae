import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Rule, RuleException, Selector } from '../../schemas/reference/rules.ts';
import type { CompiledSql } from '../duckdb/duckdb-session.ts';
import { createQueryBuilder } from '../sql/query-builder.ts';

/**
 * Compiles the rules file into SQL over `flows_enriched`: every flow's verdict for the flows
 * mart, and the per-rule evaluation of `netflow rules test`. Every value from the rules file is a
 * bound parameter; only column names chosen here are written into the SQL text.
 */
type Side = 'src' | 'dst';

interface EnrichedFlows {
  flows_enriched: {
    flow_id: string;
    start_at: Date;
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

function portCondition(ports: readonly (number | string)[]): RawBuilder<SqlBool> {
  const alternatives = ports.map((port) => {
    if (typeof port === 'number') return sql<SqlBool>`dst_port = ${port}`;
    const [low, high] = port.split('-').map(Number) as [number, number];
    return sql<SqlBool>`dst_port between ${low} and ${high}`;
  });
  return sql<SqlBool>`(${sql.join(alternatives, sql` or `)})`;
}

function threatHit(side: Side, lists: readonly string[] | undefined): RawBuilder<SqlBool> {
  const col = sql.ref(`${side}_threat_lists`);
  if (!lists) return sql<SqlBool>`len(${col}) > 0`;
  return sql<SqlBool>`(${sql.join(
    lists.map((list) => sql<SqlBool>`list_contains(${col}, ${list})`),
    sql` or `,
  )})`;
}

/** Exceptions are compared with the flow's start, so a rerun of an old hour gives the same verdicts. */
export function exceptionCondition(exception: RuleException): RawBuilder<SqlBool> {
  const conditions: RawBuilder<SqlBool>[] = [];
  if (exception.from) conditions.push(selectorCondition(exception.from, 'src'));
  if (exception.to) conditions.push(selectorCondition(exception.to, 'dst'));
  if (exception.ports) conditions.push(portCondition(exception.ports));
  const expires = new Date(exception.expires).toISOString().replace('Z', '');
  conditions.push(sql<SqlBool>`start_at < cast(${expires} as timestamp)`);
  return sql<SqlBool>`(${sql.join(conditions, sql` and `)})`;
}

function trafficConditions(rule: Rule): RawBuilder<SqlBool>[] {
  const conditions: RawBuilder<SqlBool>[] = [];
  if (rule.ports && rule.ports.length > 0) conditions.push(portCondition(rule.ports));
  if (rule.protocol !== undefined) {
    const number = typeof rule.protocol === 'number' ? rule.protocol : PROTOCOL_NUMBERS[rule.protocol]!;
    conditions.push(sql<SqlBool>`protocol = ${number}`);
  }
  if (rule.direction) conditions.push(sql<SqlBool>`direction = ${rule.direction}`);
  // Agents see traffic that reached the VM, so a record without an action counts as accepted.
  if (rule.action !== 'any') conditions.push(sql<SqlBool>`coalesce(action, 'accept') = ${rule.action}`);
  return conditions;
}

/** The flows a rule looks at: its traffic filters and, for deny and allow_only, the selected ends. */
export function ruleScope(rule: Rule): RawBuilder<SqlBool>[] {
  const conditions = trafficConditions(rule);
  if (rule.kind === 'deny') conditions.unshift(selectorCondition(rule.from, 'src'), selectorCondition(rule.to, 'dst'));
  if (rule.kind === 'allow_only') conditions.unshift(selectorCondition(rule.to, 'dst'));
  return conditions;
}

/** What makes a flow in scope a breach, before exceptions (none for deny: being in scope is the breach). */
export function ruleBreach(rule: Rule): RawBuilder<SqlBool> | undefined {
  switch (rule.kind) {
    case 'deny':
      return undefined;
    case 'allow_only':
      return sql<SqlBool>`not (${sql.join(
        rule.from.map((selector) => selectorCondition(selector, 'src')),
        sql` or `,
      )})`;
    case 'require_known':
      return sql<SqlBool>`(${unknownEndpoint('src', rule.scope)} or ${unknownEndpoint('dst', rule.scope)})`;
    case 'threat':
      if (rule.side === 'src') return threatHit('src', rule.lists);
      if (rule.side === 'dst') return threatHit('dst', rule.lists);
      return sql<SqlBool>`(${threatHit('src', rule.lists)} or ${threatHit('dst', rule.lists)})`;
  }
}

function allOf(conditions: readonly RawBuilder<SqlBool>[]): RawBuilder<SqlBool> {
  return conditions.length === 0 ? TRUE : sql<SqlBool>`${sql.join(conditions, sql` and `)}`;
}

/** A violation: in scope, a breach, and not excused by an exception in force at the flow's start. */
export function ruleCondition(rule: Rule): RawBuilder<SqlBool> {
  const conditions = ruleScope(rule);
  const breach = ruleBreach(rule);
  if (breach) conditions.splice(rule.kind === 'allow_only' ? 1 : 0, 0, breach);
  if (rule.exceptions.length > 0) conditions.push(sql<SqlBool>`not (${sql.join(rule.exceptions.map(exceptionCondition), sql` or `)})`);
  return allOf(conditions);
}

/**
 * The record that counts a curated flow record's observation interval in totals
 * (enrich/connection_observations.sql). A record no other observer reports is its own; so is one
 * of a partition written before flows schema 4 (no counted_flow_id), if it counts; an NSG tuple set
 * aside for its NIC's VNet flow log has none (null).
 */
export const COUNTED_RECORD_SQL = 'coalesce(counted_flow_id, case when counts_in_totals then flow_id end)';
export const COUNTED_RECORD = sql.raw<string>(COUNTED_RECORD_SQL);

/**
 * The connection a curated flow record belongs to (sql/macros/62_connection_key.sql): every
 * record of one 5-tuple, either way, in one hour, whichever observer and interval; what alerts,
 * reports and `netflow rules test` count. Null for a record set aside for another of the same
 * observer (an NSG tuple of a NIC whose VNet flow log is read), which that one's connection covers.
 */
export const CONNECTION_OF_RECORD_SQL = `case when ${COUNTED_RECORD_SQL} is not null then connection_key(src_ip, src_port, dst_ip, dst_port, protocol, start_at) end`;
export const CONNECTION_OF_RECORD = sql.raw<string>(CONNECTION_OF_RECORD_SQL);

/**
 * For `netflow rules test`: per rule, how many flows it looks at (matched), how many breach it,
 * how many of those an exception excuses, and how many violate. One row per rule, in file order.
 * `unit: 'connections'` (over the curated flows: reports and `netflow rules test`) counts each
 * connection once (CONNECTION_OF_RECORD: its observers' records, intervals and answer are one),
 * and a connection breaches when any of its records does (a rejecting destination and a source
 * that let it out disagree).
 */
export function compileRuleEvaluation(rules: readonly Rule[], relation = 'flows_enriched', unit: 'records' | 'connections' = 'records'): CompiledSql {
  if (rules.length === 0) {
    return { sql: 'select cast(null as varchar) as rule_id, 0::bigint as matched, 0::bigint as breaching, 0::bigint as excused, 0::bigint as violating where false', parameters: [] };
  }
  const counted = unit === 'records' ? sql`count(*)` : sql`count(distinct ${CONNECTION_OF_RECORD})`;
  const parts = rules.map((rule, index) => {
    const scope = allOf(ruleScope(rule));
    const breach = ruleBreach(rule) ?? TRUE;
    const excused = rule.exceptions.length > 0 ? sql<SqlBool>`(${sql.join(rule.exceptions.map(exceptionCondition), sql` or `)})` : sql<SqlBool>`false`;
    return sql`select ${index} as position, cast(${rule.id} as varchar) as rule_id,
      ${counted} filter (where ${scope}) as matched,
      ${counted} filter (where ${scope} and ${breach}) as breaching,
      ${counted} filter (where ${scope} and ${breach} and ${excused}) as excused,
      ${counted} filter (where ${ruleCondition(rule)}) as violating
      from ${sql.table(relation)}`;
  });
  const query = sql`select rule_id, matched, breaching, excused, violating from (${sql.join(parts, sql` union all `)}) order by position`;
  const compiled = query.compile(createQueryBuilder<EnrichedFlows>());
  return { sql: compiled.sql, parameters: compiled.parameters };
}

/**
 * The curated `flows` table of the hour (schemas/tables/flows.ts) with every flow's verdict, in
 * one scan of `flows_enriched`: each flow gets its flow_id and the sorted ids of the rules it
 * violates (one `case` per rule, evaluated on the enriched columns), then `projection` (the
 * table's columns in order; `*` for harnesses whose flows lack some). The job writes this once
 * as the Parquet file it publishes; rule_violations, the traffic matrix and the alerts read that
 * file's few columns instead of running the enrichment joins again (it is a view over them).
 */
export function compileFlowsMart(rules: readonly Rule[], projection: string): CompiledSql {
  const hits = rules.map((rule) => sql`case when ${ruleCondition(rule)} then cast(${rule.id} as varchar) end`);
  // The list is built only for a flow that breaks some rule (a few in a thousand): building,
  // filtering and sorting it for every flow cost more than the rules' conditions twice for those.
  const breaksAny = sql.join(
    rules.map((rule) => sql`coalesce(${ruleCondition(rule)}, false)`),
    sql` or `,
  );
  const ruleIds =
    rules.length === 0
      ? sql`cast([] as varchar[])`
      : sql`case when ${breaksAny} then list_sort(list_filter([${sql.join(hits, sql`, `)}], rule_id -> rule_id is not null)) else cast([] as varchar[]) end`;
  // A record no other observer reports is its connection's counted record (flows_enriched leaves the id to this scan).
  const query = sql`select ${sql.raw(projection)} from (
    select
      * replace (${COUNTED_RECORD} as counted_flow_id),
      case when len(violated_rule_ids) = 0 then 'conformant' else 'non_conformant' end as verdict,
      getvariable('run_id') as run_id
    from (
      select flow_id_of(source_type, raw_object_key, raw_offset) as flow_id, *, ${ruleIds} as violated_rule_ids
      from ${sql.table('flows_enriched')}
    )
  )`;
  const compiled = query.compile(createQueryBuilder<EnrichedFlows>());
  return { sql: compiled.sql, parameters: compiled.parameters };
}
