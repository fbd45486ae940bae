import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { Document, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Rule, RulesFile, Selector } from '../../schemas/reference/rules.ts';
import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import type { CompiledSql, DuckDbSession } from '../duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { ruleScope } from '../rules/compile-rules.ts';
import { createQueryBuilder } from '../sql/query-builder.ts';

/**
 * Segmentation recommendations: cross-segment traffic that no allow rule covers, grouped per
 * destination segment, port and protocol, turned into `allow_only` rules in the rules file's own
 * format. Only traffic the rules already tolerate is baselined (accepted, conformant, opened by
 * the source); violations are for their owners to judge, never recommended away. Each rule lists
 * every segment seen reaching that destination and port, including the destination's own, so that
 * adding it changes no conformant flow's verdict; it tightens what may reach the port from now on.
 */
export interface Recommendation {
  rule: Extract<Rule, { kind: 'allow_only' }>;
  dst_segment: string;
  dst_port: number;
  protocol: number;
  /** Segments (or addresses) that reach it today, as the rule's `from` lists them. */
  sources: string[];
  /** Cross-segment flows no allow rule covers today. */
  uncovered_flows: number;
  flows: number;
  bytes: number;
  src_addresses: number;
  dst_addresses: number;
  first_seen_at: Date;
  last_seen_at: Date;
  /** 1 (ordinary service) to 5 (admin or database port reached from the internet). */
  risk: number;
  risk_reasons: string[];
  sample_flow_ids: string[];
}

/** Ports whose exposure matters most: remote administration, file sharing, databases, caches, orchestration. */
export const SENSITIVE_PORTS: Record<number, string> = {
  22: 'ssh', 23: 'telnet', 135: 'msrpc', 139: 'netbios', 445: 'smb', 1433: 'mssql', 1521: 'oracle', 2375: 'docker', 2379: 'etcd',
  3306: 'mysql', 3389: 'rdp', 5432: 'postgres', 5900: 'vnc', 5985: 'winrm', 5986: 'winrm', 6379: 'redis', 9200: 'elasticsearch',
  11211: 'memcached', 27017: 'mongodb',
};

const PROTOCOL_NAMES: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const MAX_ADDRESS_SOURCES = 10;

interface Group {
  dst_segment: string;
  dst_port: number;
  protocol: number;
  uncovered_flows: bigint;
  flows: bigint;
  bytes: bigint;
  src_addresses: bigint;
  dst_addresses: bigint;
  first_seen_at: Date;
  last_seen_at: Date;
  from_internet: boolean;
  source_segments: string[];
  unsegmented_sources: string[];
  sample_flow_ids: string[];
}

/**
 * The query over a `flows` relation (a lake session's view, filtered to the period): one row per
 * (destination segment, port, protocol) with uncovered cross-segment traffic. Rule values are bound.
 */
export function compileRecommendationQuery(rules: readonly Rule[], period: { from: Date; to: Date }): CompiledSql {
  const allowScopes = rules.filter((rule) => rule.kind === 'allow_only').map((rule) => sql<SqlBool>`(${sql.join(ruleScope(rule), sql` and `)})`);
  const covered: RawBuilder<SqlBool> = allowScopes.length > 0 ? sql<SqlBool>`(${sql.join(allowScopes, sql` or `)})` : sql<SqlBool>`false`;
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  const query = sql`
    with tolerated as (
      select *, ${covered} as is_covered
      from flows
      where start_at >= cast(${ts(period.from)} as timestamp) and start_at < cast(${ts(period.to)} as timestamp)
        and verdict = 'conformant'
        and coalesce(action, 'accept') = 'accept'
        and protocol in (6, 17, 132) and dst_port is not null and dst_segment is not null
        and not (src_port is not null and src_port < dst_port and dst_port >= 1024)
    ),
    candidates as (
      select distinct dst_segment, dst_port, protocol from tolerated
      where not is_covered and src_segment is not null and src_segment <> dst_segment
    )
    select
      t.dst_segment, t.dst_port, t.protocol,
      count(*) filter (where not t.is_covered and t.src_segment is distinct from t.dst_segment) as uncovered_flows,
      count(*) as flows,
      sum(t.bytes) as bytes,
      count(distinct t.src_ip) as src_addresses,
      count(distinct t.dst_ip) as dst_addresses,
      min(t.start_at) as first_seen_at,
      max(t.end_at) as last_seen_at,
      bool_or(t.src_segment = 'internet' or (t.src_is_public and t.src_vm_id is null)) as from_internet,
      coalesce(list_sort(list(distinct t.src_segment) filter (where t.src_segment is not null and not (t.src_is_public and t.src_vm_id is null))), []) as source_segments,
      coalesce(list_sort(list(distinct t.src_ip) filter (where t.src_segment is null and not (t.src_is_public and t.src_vm_id is null))), []) as unsegmented_sources,
      list_sort(list(t.flow_id))[1:5] as sample_flow_ids
    from tolerated as t
    inner join candidates as c using (dst_segment, dst_port, protocol)
    group by t.dst_segment, t.dst_port, t.protocol
    order by t.dst_segment, t.dst_port, t.protocol`;
  const compiled = query.compile(createQueryBuilder<Record<string, never>>());
  return { sql: compiled.sql, parameters: compiled.parameters };
}

export async function recommendSegmentationRules(
  session: DuckDbSession,
  rules: RulesFile,
  period: { from: Date; to: Date },
): Promise<{ recommendations: Recommendation[]; skipped: { dst_segment: string; dst_port: number; reason: string }[] }> {
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  const groups = await session.execute<Record<string, unknown>>(compileRecommendationQuery(rules.rules, period));
  const taken = new Set(rules.rules.map((rule) => rule.id));
  const recommendations: Recommendation[] = [];
  const skipped: { dst_segment: string; dst_port: number; reason: string }[] = [];
  for (const raw of groups as unknown as Group[]) {
    const protocol = PROTOCOL_NAMES[Number(raw.protocol)]!;
    if (raw.unsegmented_sources.length > MAX_ADDRESS_SOURCES) {
      skipped.push({ dst_segment: raw.dst_segment, dst_port: raw.dst_port, reason: `${raw.unsegmented_sources.length} sources outside every segment; give their ranges a segment first` });
      continue;
    }
    const from: Selector[] = [
      ...raw.source_segments.map((segment) => ({ segment })),
      ...(raw.from_internet ? [{ internet: true as const }] : []),
      ...raw.unsegmented_sources.map((ip) => ({ ip })),
    ];
    const sources = [...raw.source_segments, ...(raw.from_internet ? ['internet'] : []), ...raw.unsegmented_sources];
    const { risk, reasons } = riskOf(raw.dst_port, raw.from_internet, sources.length);
    let id = `allow-to-${slug(raw.dst_segment)}-${protocol}-${raw.dst_port}`;
    for (let n = 2; taken.has(id); n++) id = `allow-to-${slug(raw.dst_segment)}-${protocol}-${raw.dst_port}-${n}`;
    taken.add(id);
    const service = SENSITIVE_PORTS[raw.dst_port] ? ` (${SENSITIVE_PORTS[raw.dst_port]})` : '';
    recommendations.push({
      rule: {
        id,
        kind: 'allow_only',
        severity: risk >= 4 ? 'high' : risk >= 2 ? 'medium' : 'low',
        owner: 'network',
        description: `Baseline from observed traffic ${period.from.toISOString().slice(0, 13)}..${period.to.toISOString().slice(0, 13)}: ${raw.dst_segment} ${protocol}/${raw.dst_port}${service} is reached only from ${sources.join(', ')}.`,
        to: { segment: raw.dst_segment },
        ports: [raw.dst_port],
        protocol,
        action: 'accept',
        from,
        exceptions: [],
      },
      dst_segment: raw.dst_segment,
      dst_port: raw.dst_port,
      protocol: Number(raw.protocol),
      sources,
      uncovered_flows: Number(raw.uncovered_flows),
      flows: Number(raw.flows),
      bytes: Number(raw.bytes),
      src_addresses: Number(raw.src_addresses),
      dst_addresses: Number(raw.dst_addresses),
      first_seen_at: raw.first_seen_at,
      last_seen_at: raw.last_seen_at,
      risk,
      risk_reasons: reasons,
      sample_flow_ids: raw.sample_flow_ids,
    });
  }
  recommendations.sort((a, b) => b.risk - a.risk || b.bytes - a.bytes || a.rule.id.localeCompare(b.rule.id));
  return { recommendations, skipped };
}

function riskOf(port: number, fromInternet: boolean, sources: number): { risk: number; reasons: string[] } {
  const reasons: string[] = [];
  let risk = 1;
  if (SENSITIVE_PORTS[port]) {
    risk += 2;
    reasons.push(`sensitive port ${port} (${SENSITIVE_PORTS[port]})`);
  }
  if (fromInternet) {
    risk += 2;
    reasons.push('reached from the internet');
  }
  if (sources > 3) reasons.push(`${sources} source groups`);
  return { risk: Math.min(risk, 5), reasons };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'segment';
}

/** The rules as YAML to paste under `rules:` of the rules file (validated against its schema before it is shown). */
export function recommendationsYaml(recommendations: readonly Recommendation[]): string {
  const rules = recommendations.map(({ rule }) => {
    const { exceptions: _exceptions, ...rest } = rule as Recommendation['rule'] & { exceptions?: unknown };
    return rest;
  });
  rulesFileSchema.parse({ rules });
  if (rules.length === 0) return '# no recommendations: every cross-segment flow in the period is covered by an allow rule\n';
  // Selectors and port lists in flow style, as the rules file writes them: `to: { segment: data }`.
  const doc = new Document(rules);
  rules.forEach((_rule, index) => {
    (doc.getIn([index, 'to'], true) as YAMLMap).flow = true;
    (doc.getIn([index, 'ports'], true) as YAMLSeq).flow = true;
    for (const item of (doc.getIn([index, 'from'], true) as YAMLSeq).items) (item as YAMLMap).flow = true;
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true }).replace(/^(?=.)/gm, '  ');
}

/** A rules file with the recommended rules appended, for `netflow rules test --rules FILE` or to commit. */
export function rulesFileWithRecommendations(originalText: string, recommendations: readonly Recommendation[]): string {
  if (recommendations.length === 0) return originalText;
  const header = '  # recommended by netflow recommend (segmentation baseline): review before committing\n';
  return `${originalText.replace(/\s*$/, '\n')}${header}${recommendationsYaml(recommendations)}`;
}
