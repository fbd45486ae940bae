import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { DEFAULT_RECOMMEND_CONFIG, type RecommendConfig } from '../../schemas/analytics-config.ts';
import type { Rule, RulesFile, Selector } from '../../schemas/reference/rules.ts';
import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import type { CompiledSql, DuckDbSession } from '../duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { CONNECTION_OF_RECORD, ruleScope } from '../rules/compile-rules.ts';
import { createQueryBuilder } from '../sql/query-builder.ts';

/**
 * Segmentation recommendations: cross-segment traffic that no allow rule covers, grouped per
 * destination segment, port and protocol, turned into `allow_only` rules in the rules file's own
 * format. Only traffic that is safe to learn from is baselined: accepted, conformant, opened by the
 * source, from no anomaly's source in that hour and touching no threat list; violations, scans
 * and sweeps are for their owners to judge, never recommended away. A port is recommended only
 * with minimum support (flows and distinct hours), never a high-risk port unless asked; contiguous
 * ports with the same sources become one range; each destination segment ends with a default deny
 * of every other port below the ephemeral range, so the set flags new ports and new sources.
 */
export interface RecommendOptions {
  /** Flows a port must carry in the period to be recommended … */
  minFlows: number;
  /** … in at least this many distinct hours (one busy hour is not a baseline). */
  minHours: number;
  /** Ports never recommended unless `allowHighRisk` (remote administration, file sharing). */
  highRiskPorts: readonly number[];
  allowHighRisk: boolean;
  /** Append a default deny per destination segment. */
  defaultDeny: boolean;
  /** The default deny covers ports below this: answers to clients land on ephemeral ports, which no rule can tell from requests. */
  ephemeralFrom: number;
}

/** The options of the configuration's `recommend:` section. */
export function recommendOptionsOf(config: RecommendConfig, allowHighRisk = false): RecommendOptions {
  return { minFlows: config.min_flows, minHours: config.min_hours, highRiskPorts: config.high_risk_ports, allowHighRisk, defaultDeny: config.default_deny, ephemeralFrom: config.ephemeral_from };
}

export const DEFAULT_RECOMMEND_OPTIONS: RecommendOptions = recommendOptionsOf(DEFAULT_RECOMMEND_CONFIG);

export interface Recommendation {
  rule: Extract<Rule, { kind: 'allow_only' }>;
  dst_segment: string;
  /** The first port of the rule; `dst_ports` lists them all (a contiguous range as "low-high"). */
  dst_port: number;
  dst_ports: (number | string)[];
  protocol: number;
  /** Distinct hours of the period with the traffic (the smallest over the rule's ports). */
  hours: number;
  /** Why the rule is there, with its support, in words. */
  why: string;
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

/** A default deny of one destination segment and protocol: every port below the ephemeral range no allow rule lists. */
export interface DefaultDeny {
  rule: Extract<Rule, { kind: 'deny' }>;
  dst_segment: string;
  protocol: number;
  /** Ports left open to the segment: the recommended and existing allow rules' ports, and the segment's own traffic. */
  open_ports: (number | string)[];
  why: string;
}

export interface SkippedPort {
  dst_segment: string;
  dst_port: number;
  reason: string;
}

export interface RecommendedSet {
  recommendations: Recommendation[];
  default_denies: DefaultDeny[];
  skipped: SkippedPort[];
  options: RecommendOptions;
}

/** Ports whose exposure matters most: remote administration, file sharing, databases, caches, orchestration. */
export const SENSITIVE_PORTS: Record<number, string> = {
  22: 'ssh',
  23: 'telnet',
  135: 'msrpc',
  139: 'netbios',
  445: 'smb',
  1433: 'mssql',
  1521: 'oracle',
  2375: 'docker',
  2379: 'etcd',
  3306: 'mysql',
  3389: 'rdp',
  5432: 'postgres',
  5900: 'vnc',
  5985: 'winrm',
  5986: 'winrm',
  6379: 'redis',
  9200: 'elasticsearch',
  11211: 'memcached',
  27017: 'mongodb',
};

const PROTOCOL_NAMES: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const MAX_ADDRESS_SOURCES = 10;

interface Group {
  dst_segment: string;
  dst_port: number;
  protocol: number;
  hours: bigint;
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
export function compileRecommendationQuery(rules: readonly Rule[], period: { from: Date; to: Date }, options: { withAnomalies: boolean } = { withAnomalies: false }): CompiledSql {
  const allowScopes = rules.filter((rule) => rule.kind === 'allow_only').map((rule) => sql<SqlBool>`(${sql.join(ruleScope(rule), sql` and `)})`);
  const covered: RawBuilder<SqlBool> = allowScopes.length > 0 ? sql<SqlBool>`(${sql.join(allowScopes, sql` or `)})` : sql<SqlBool>`false`;
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  const query = sql`
    with ${anomalousSources(options.withAnomalies)},
    tolerated as (
      select *, ${covered} as is_covered
      from flows
      where start_at >= cast(${ts(period.from)} as timestamp) and start_at < cast(${ts(period.to)} as timestamp)
        and verdict = 'conformant'
        and coalesce(action, 'accept') = 'accept'
        and protocol in (6, 17, 132) and dst_port is not null and dst_segment is not null
        and not (src_port is not null and src_port < dst_port and dst_port >= 1024)
        and len(coalesce(src_threat_lists, [])) = 0 and len(coalesce(dst_threat_lists, [])) = 0
        and not exists (select 1 from anomalous as a where a.src_ip = flows.src_ip and a.hour_at = date_trunc('hour', flows.start_at))
    ),
    candidates as (
      select distinct dst_segment, dst_port, protocol from tolerated
      where not is_covered and src_segment is not null and src_segment <> dst_segment
    )
    select
      t.dst_segment, t.dst_port, t.protocol,
      -- Connections, as flows below: two observers' records of one connection are one.
      count(distinct ${CONNECTION_OF_RECORD}) filter (where not t.is_covered and t.src_segment is distinct from t.dst_segment) as uncovered_flows,
      -- Connections once: the record that counts each in totals (two observers' records are one connection).
      count(*) filter (where t.counts_in_totals) as flows,
      count(distinct date_trunc('hour', t.start_at)) as hours,
      coalesce(sum(t.bytes) filter (where t.counts_in_totals), 0) as bytes,
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

/** Sources of an anomaly (scan, sweep, fan-out, new talker, exfiltration, a VM's spike) per hour: their traffic of that hour is not learned from. */
function anomalousSources(withAnomalies: boolean): RawBuilder<unknown> {
  return withAnomalies
    ? sql`anomalous as (select distinct src_ip, hour_at from anomalies where src_ip is not null)`
    : sql`anomalous as (select cast(null as varchar) as src_ip, cast(null as timestamp) as hour_at where false)`;
}

/** Ports of each segment's own traffic (tolerated, opened inside it): the default deny leaves them open. */
function compileIntraSegmentPortsQuery(period: { from: Date; to: Date }): CompiledSql {
  const ts = (date: Date) => date.toISOString().replace('Z', '');
  const query = sql`
    select dst_segment, protocol, list_sort(list(distinct dst_port)) as ports
    from flows
    where start_at >= cast(${ts(period.from)} as timestamp) and start_at < cast(${ts(period.to)} as timestamp)
      and verdict = 'conformant' and coalesce(action, 'accept') = 'accept'
      and protocol in (6, 17) and dst_port is not null and src_segment = dst_segment
      and not (src_port is not null and src_port < dst_port and dst_port >= 1024)
    group by dst_segment, protocol`;
  const compiled = query.compile(createQueryBuilder<Record<string, never>>());
  return { sql: compiled.sql, parameters: compiled.parameters };
}

export async function recommendSegmentationRules(session: DuckDbSession, rules: RulesFile, period: { from: Date; to: Date }, overrides: Partial<RecommendOptions> = {}): Promise<RecommendedSet> {
  const options: RecommendOptions = { ...DEFAULT_RECOMMEND_OPTIONS, ...overrides };
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  const withAnomalies = (await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'anomalies'`))[0]!.n > 0n;
  const groups = await session.execute<Record<string, unknown>>(compileRecommendationQuery(rules.rules, period, { withAnomalies }));
  const taken = new Set(rules.rules.map((rule) => rule.id));
  const skipped: SkippedPort[] = [];
  const highRisk = new Set(options.highRiskPorts);
  const kept: (Group & { sources: string[]; from: Selector[] })[] = [];
  for (const raw of groups as unknown as Group[]) {
    const at = { dst_segment: raw.dst_segment, dst_port: raw.dst_port };
    if (raw.unsegmented_sources.length > MAX_ADDRESS_SOURCES) {
      skipped.push({ ...at, reason: `${raw.unsegmented_sources.length} sources outside every segment; give their ranges a segment first` });
      continue;
    }
    if (Number(raw.flows) < options.minFlows || Number(raw.hours) < options.minHours) {
      skipped.push({ ...at, reason: `too little support: ${raw.flows} flow(s) in ${raw.hours} hour(s), needs ${options.minFlows} in ${options.minHours}` });
      continue;
    }
    if (highRisk.has(raw.dst_port) && !options.allowHighRisk) {
      skipped.push({ ...at, reason: `high-risk port${SENSITIVE_PORTS[raw.dst_port] ? ` (${SENSITIVE_PORTS[raw.dst_port]})` : ''}: recommended only with --allow-high-risk` });
      continue;
    }
    const from: Selector[] = [...raw.source_segments.map((segment) => ({ segment })), ...(raw.from_internet ? [{ internet: true as const }] : []), ...raw.unsegmented_sources.map((ip) => ({ ip }))];
    kept.push({ ...raw, sources: [...raw.source_segments, ...(raw.from_internet ? ['internet'] : []), ...raw.unsegmented_sources], from });
  }
  const recommendations = portRuns(kept).map((run) => toRecommendation(run, period, taken));
  recommendations.sort((a, b) => b.risk - a.risk || b.bytes - a.bytes || a.rule.id.localeCompare(b.rule.id));
  const default_denies = options.defaultDeny ? await defaultDenies(session, rules.rules, recommendations, period, options, taken) : [];
  return { recommendations, default_denies, skipped, options };
}

type KeptGroup = Group & { sources: string[]; from: Selector[] };

/** Contiguous ports of one destination segment and protocol reached from the same sources: one rule each. */
function portRuns(groups: readonly KeptGroup[]): KeptGroup[][] {
  const byKey = new Map<string, KeptGroup[]>();
  for (const group of groups) {
    const key = `${group.dst_segment}|${group.protocol}|${group.sources.join(',')}`;
    byKey.set(key, [...(byKey.get(key) ?? []), group]);
  }
  const runs: KeptGroup[][] = [];
  for (const members of byKey.values()) {
    members.sort((a, b) => a.dst_port - b.dst_port);
    for (const group of members) {
      const last = runs.at(-1);
      if (
        last &&
        last[0]!.dst_segment === group.dst_segment &&
        last[0]!.protocol === group.protocol &&
        last[0]!.sources.join(',') === group.sources.join(',') &&
        last.at(-1)!.dst_port === group.dst_port - 1
      )
        last.push(group);
      else runs.push([group]);
    }
  }
  return runs;
}

function toRecommendation(run: KeptGroup[], period: { from: Date; to: Date }, taken: Set<string>): Recommendation {
  const first = run[0]!;
  const last = run.at(-1)!;
  const protocol = PROTOCOL_NAMES[Number(first.protocol)]!;
  const portText = run.length === 1 ? `${first.dst_port}` : `${first.dst_port}-${last.dst_port}`;
  const fromInternet = run.some((group) => group.from_internet);
  const risks = run.map((group) => riskOf(group.dst_port, group.from_internet, group.sources.length));
  const risk = Math.max(...risks.map((r) => r.risk));
  const reasons = [...new Set(risks.flatMap((r) => r.reasons))];
  let id = `allow-to-${slug(first.dst_segment)}-${protocol}-${portText}`;
  for (let n = 2; taken.has(id); n++) id = `allow-to-${slug(first.dst_segment)}-${protocol}-${portText}-${n}`;
  taken.add(id);
  const flows = run.reduce((sum, group) => sum + Number(group.flows), 0);
  const hours = Math.min(...run.map((group) => Number(group.hours)));
  const service = run.length === 1 && SENSITIVE_PORTS[first.dst_port] ? ` (${SENSITIVE_PORTS[first.dst_port]})` : '';
  const why = `${flows} flow(s) in ${hours}+ distinct hour(s) of tolerated traffic (accepted, conformant, no anomaly, no threat list) from ${first.sources.join(', ')}`;
  return {
    rule: {
      id,
      kind: 'allow_only',
      severity: risk >= 4 ? 'high' : risk >= 2 ? 'medium' : 'low',
      owner: 'network',
      description: `Baseline from observed traffic ${period.from.toISOString().slice(0, 13)}..${period.to.toISOString().slice(0, 13)}: ${first.dst_segment} ${protocol}/${portText}${service} is reached only from ${first.sources.join(', ')}; support ${flows} flow(s) in ${hours}+ hour(s).`,
      to: { segment: first.dst_segment },
      ports: [run.length === 1 ? first.dst_port : portText],
      protocol,
      action: 'accept',
      from: first.from,
      exceptions: [],
    },
    dst_segment: first.dst_segment,
    dst_port: first.dst_port,
    dst_ports: [run.length === 1 ? first.dst_port : portText],
    protocol: Number(first.protocol),
    hours,
    why,
    sources: first.sources,
    uncovered_flows: run.reduce((sum, group) => sum + Number(group.uncovered_flows), 0),
    flows,
    bytes: run.reduce((sum, group) => sum + Number(group.bytes), 0),
    src_addresses: Math.max(...run.map((group) => Number(group.src_addresses))),
    dst_addresses: Math.max(...run.map((group) => Number(group.dst_addresses))),
    first_seen_at: new Date(Math.min(...run.map((group) => group.first_seen_at.getTime()))),
    last_seen_at: new Date(Math.max(...run.map((group) => group.last_seen_at.getTime()))),
    risk,
    risk_reasons: fromInternet && !reasons.includes('reached from the internet') ? [...reasons, 'reached from the internet'] : reasons,
    sample_flow_ids: run
      .flatMap((group) => group.sample_flow_ids)
      .sort()
      .slice(0, 5),
  };
}

/** One deny per destination segment with a recommendation, per protocol: every port below the ephemeral range that no allow rule opens. */
async function defaultDenies(
  session: DuckDbSession,
  existing: readonly Rule[],
  recommendations: readonly Recommendation[],
  period: { from: Date; to: Date },
  options: RecommendOptions,
  taken: Set<string>,
): Promise<DefaultDeny[]> {
  const intra = (await session.execute<{ dst_segment: string; protocol: number; ports: number[] }>(compileIntraSegmentPortsQuery(period))) as unknown as {
    dst_segment: string;
    protocol: number;
    ports: number[];
  }[];
  const segments = [...new Set(recommendations.map((r) => r.dst_segment))].sort();
  const denies: DefaultDeny[] = [];
  for (const segment of segments) {
    for (const protocol of [6, 17]) {
      const name = PROTOCOL_NAMES[protocol]!;
      const allowRules = existing.filter(
        (rule) => rule.kind === 'allow_only' && 'segment' in rule.to && rule.to.segment === segment && (rule.protocol === undefined || rule.protocol === name || rule.protocol === protocol),
      );
      if (allowRules.some((rule) => !rule.ports || rule.ports.length === 0)) continue;
      const open: [number, number][] = [
        ...allowRules.flatMap((rule) => rule.ports!.map(portBounds)),
        ...recommendations.filter((r) => r.dst_segment === segment && r.protocol === protocol).flatMap((r) => r.dst_ports.map(portBounds)),
        ...(intra.find((row) => row.dst_segment === segment && Number(row.protocol) === protocol)?.ports ?? []).map((port): [number, number] => [Number(port), Number(port)]),
      ];
      const closed = complement(open, options.ephemeralFrom - 1);
      if (closed.length === 0) continue;
      let id = `default-deny-to-${slug(segment)}-${name}`;
      for (let n = 2; taken.has(id); n++) id = `default-deny-to-${slug(segment)}-${name}-${n}`;
      taken.add(id);
      const openPorts = merge(open).map(([low, high]) => (low === high ? low : `${low}-${high}`));
      denies.push({
        rule: {
          id,
          kind: 'deny',
          severity: 'medium',
          owner: 'network',
          description: `Default deny: ${segment} ${name} ports 0-${options.ephemeralFrom - 1} that no allow rule opens (open: ${openPorts.join(', ') || 'none'}); answers to clients on ephemeral ports are not covered.`,
          from: { any: true },
          to: { segment },
          ports: closed.map(([low, high]) => (low === high ? low : `${low}-${high}`)),
          protocol: name,
          action: 'accept',
          exceptions: [],
        },
        dst_segment: segment,
        protocol,
        open_ports: openPorts,
        why: `default deny at the end of ${segment}'s rules: new ports and new services are flagged until allowed`,
      });
    }
  }
  return denies;
}

function portBounds(port: number | string): [number, number] {
  if (typeof port === 'number') return [port, port];
  const [low, high] = port.split('-').map(Number) as [number, number];
  return [low, high];
}

function merge(ranges: readonly [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [low, high] of sorted) {
    const last = merged.at(-1);
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

/** The ranges of 0..max not covered by `open`. */
function complement(open: readonly [number, number][], max: number): [number, number][] {
  const closed: [number, number][] = [];
  let next = 0;
  for (const [low, high] of merge(open)) {
    if (low > max) break;
    if (low > next) closed.push([next, low - 1]);
    next = Math.max(next, high + 1);
  }
  if (next <= max) closed.push([next, max]);
  return closed;
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
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'segment'
  );
}

/** The rules as YAML to paste under `rules:` of the rules file (validated against its schema before it is shown); the default denies come last. */
export function recommendationsYaml(recommendations: readonly Recommendation[], defaultDenies: readonly DefaultDeny[] = []): string {
  const rules = [...recommendations, ...defaultDenies].map(({ rule }) => {
    const { exceptions: _exceptions, ...rest } = rule as Rule & { exceptions?: unknown };
    return rest;
  });
  rulesFileSchema.parse({ rules });
  if (rules.length === 0) return '# no recommendations: every cross-segment flow in the period is covered by an allow rule\n';
  // Selectors and port lists in flow style, as the rules file writes them: `to: { segment: data }`.
  const doc = new Document(rules);
  rules.forEach((rule, index) => {
    (doc.getIn([index, 'to'], true) as YAMLMap).flow = true;
    (doc.getIn([index, 'ports'], true) as YAMLSeq).flow = true;
    const from = doc.getIn([index, 'from'], true) as YAMLSeq | YAMLMap;
    if (rule.kind === 'deny') (from as YAMLMap).flow = true;
    else for (const item of (from as YAMLSeq).items) (item as YAMLMap).flow = true;
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true }).replace(/^(?=.)/gm, '  ');
}

/** A rules file with the recommended rules (and default denies, last) appended, for `netflow rules test --rules FILE` or to commit. */
export function rulesFileWithRecommendations(originalText: string, recommendations: readonly Recommendation[], defaultDenies: readonly DefaultDeny[] = []): string {
  if (recommendations.length === 0 && defaultDenies.length === 0) return originalText;
  const header = '  # recommended by netflow recommend (segmentation baseline): review before committing\n';
  return `${originalText.replace(/\s*$/, '\n')}${header}${recommendationsYaml(recommendations, defaultDenies)}`;
}
