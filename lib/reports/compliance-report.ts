import { durationMs } from '../../schemas/config.ts';
import type { LedgerEntry } from '../../schemas/ledger.ts';
import { loadMacroFiles } from '../net/sql-macros.ts';
import { compileRuleEvaluation, CONNECTION_OF_RECORD_SQL, COUNTED_RECORD_SQL } from '../rules/compile-rules.ts';
import { recommendationsYaml, recommendOptionsOf, recommendSegmentationRules, type DefaultDeny, type Recommendation } from '../segmentation/recommend-rules.ts';
import { assessControls, ruleStatus, type AssessmentStatus, type ControlAssessment } from './assess-controls.ts';
import { loadControlMapping, loadRulesFile } from './reference-files.ts';
import { datesOf, hourLabel, hoursOf, partitionInPeriod, type ReportPeriod } from './report-period.ts';
import type { DuckDbSession } from '../duckdb/duckdb-session.ts';
import { inputFilesOf, openReportLake, plain, type InputFile, type ReportContext } from './report-context.ts';

export type CoverageStatus = 'published' | 'late' | 'failed' | 'missing' | 'pending';

export interface CoverageHour {
  hour: string;
  status: CoverageStatus;
  /** Attempts recorded in the run ledger, and how many failed. */
  attempts: number;
  failed_attempts: number;
  first_published_at: string | null;
  /** Whether the published version's run is in the ledger (a publish the ledger does not know is an audit gap too). */
  in_ledger: boolean;
  run_id: string | null;
  flows: number | null;
  rules_hash: string | null;
  reference_hash: string | null;
  last_error: string | null;
}

export interface RuleRow {
  rule_id: string;
  kind: string;
  severity: string;
  owner: string | null;
  description: string;
  in_current_rules: boolean;
  /** Flows of the period the rule looks at (current rules file, re-evaluated over the published flows). */
  evaluated: number;
  conformant: number;
  /** Violations as published by the runs (their rules version). */
  violating: number;
  excused: number;
  alerts: number;
  /** `fail` with a violation in the period, `pass` without, `no_data` when no flows were published. */
  status: AssessmentStatus;
}

export interface AnomalyListed {
  anomaly_id: string;
  hour_at: Date;
  kind: string;
  severity: string;
  subject: string;
  src_ip: string | null;
  dst_ip: string | null;
  observed: number;
  baseline: number | null;
  score: number;
  distinct_hosts: number | null;
  distinct_ports: number | null;
  first_seen_at: Date | null;
  last_seen_at: Date | null;
  evidence: string;
}

export interface ComplianceReport {
  kind: 'compliance';
  generated_at: string;
  period: { from: string; to: string; hours: number };
  /** Whether the period's data is all there: `empty` (no hour published), `partial` (some hours failed, missing or not yet due); stated on the first page, and `netflow report` exits 4. */
  completeness: { status: 'complete' | 'partial' | 'empty'; message: string | null };
  /** Per control of the mapping file (reports.controls), from its rules' results; null without a mapping. */
  controls: { file: string; sha256: string; version: string | null; assessments: ControlAssessment[] } | null;
  summary: {
    hours_expected: number;
    hours_published: number;
    hours_late: number;
    hours_failed: number;
    hours_missing: number;
    hours_pending: number;
    flows: number;
    non_conformant_flows: number;
    conformance_rate: number | null;
    violations: number;
    alerts: number;
    anomalies: number;
  };
  coverage: CoverageHour[];
  rules_in_force: {
    current: { file: string; sha256: string; version: string | null; rules: number };
    observed: { rules_hash: string | null; rules_version: string | null; reference_hash: string | null; hours: number; first_hour: string; last_hour: string }[];
  };
  rules: RuleRow[];
  trend: { bucket: string; bucket_kind: 'hour' | 'day'; rule_id: string; violating: number; flows: number }[];
  top_offenders: { src_ip: string; vm_name: string | null; segment: string | null; tags: string[]; violations: number; rules: string[]; bytes: number; first_seen_at: Date; last_seen_at: Date }[];
  evidence: { rule_id: string; flow_id: string; start_at: Date; source_type: string; src_ip: string; src_vm_name: string | null; src_port: number | null; dst_ip: string; dst_vm_name: string | null; dst_port: number | null; protocol: number; action: string | null; bytes: number; raw_object_key: string; raw_offset: number; run_id: string; rules_version: string }[];
  /** Every anomaly of the period is counted and listed in `all`; `top` holds the first `shown` of `total` (reports.top_anomalies), most severe first. */
  anomalies: { total: number; shown: number; by_kind: { kind: string; severity: string; count: number }[]; top: AnomalyListed[]; all: AnomalyListed[] };
  /** Network views: traffic per segment pair over time, the segment matrix, top talkers, rejected traffic by port. Bytes count each connection once (counts_in_totals). */
  network: {
    pairs_over_time: { hour_at: Date; pair: string; bytes: number; flows: number }[];
    matrix: { src_group: string; dst_group: string; bytes: number; flows: number; rejected_flows: number }[];
    top_talkers: { src_ip: string; vm_name: string | null; segment: string | null; bytes: number; flows: number }[];
    rejected_by_port: { dst_port: number | null; protocol: number; flows: number; sources: number }[];
  };
  segmentation: { recommendations: Recommendation[]; default_denies: DefaultDeny[]; skipped: { dst_segment: string; dst_port: number; reason: string }[]; yaml: string };
  inputs: InputFile[];
}

const HOUR_MS = 3_600_000;

/** Builds the compliance audit of a period from the run ledger, the manifests and the curated tables. */
export async function buildComplianceReport(context: ReportContext, period: ReportPeriod): Promise<ComplianceReport> {
  const now = context.now?.() ?? new Date();
  const rulesFile = await loadRulesFile(context.config, context.baseDir);
  const controlMapping = await loadControlMapping(context.config, context.baseDir);
  const ledger = await context.ledger.entries();
  const lake = await openReportLake(context, (_table, partition) => partitionInPeriod(partition, period), datesOf(period));
  try {
    const session = lake.session;
    const settings = context.config.reports;
    const coverage = coverageOf(period, ledger, lake.manifests.flows ?? [], now, durationMs(context.config.lateness), durationMs(settings.late_after));
    for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
    const ts = (date: Date) => date.toISOString().replace('Z', '');
    await session.run(
      `CREATE OR REPLACE TEMP TABLE flows_in_period AS SELECT *, ${COUNTED_RECORD_SQL} AS counted_record_id, ${CONNECTION_OF_RECORD_SQL} AS connection_id
       FROM flows WHERE start_at >= CAST($1 AS TIMESTAMP) AND start_at < CAST($2 AS TIMESTAMP)`,
      [ts(period.from), ts(period.to)],
    );
    // One row per rule and observation interval of a connection, not one per observer's record of
    // it (two agents, an agent and a flow log: flows.counted_flow_id): the record that counts the
    // interval in totals, or, when that one does not break the rule (a destination that rejected
    // what its source let out), the one that does with the smallest flow_id; its bytes are the
    // interval's. The violations are counted per connection (connection_id: an Azure session's B, C
    // and E tuples, an agent's minutes of one connection are one), as the alerts count them.
    await session.run(
      `CREATE OR REPLACE TEMP TABLE violations_in_period AS
       SELECT v.*, coalesce(f.connection_id, v.flow_id) AS connection_id FROM violations AS v LEFT JOIN flows_in_period AS f USING (flow_id)
       WHERE v.start_at >= CAST($1 AS TIMESTAMP) AND v.start_at < CAST($2 AS TIMESTAMP)
       QUALIFY row_number() OVER (PARTITION BY v.rule_id, coalesce(f.counted_record_id, v.flow_id) ORDER BY f.counts_in_totals DESC NULLS LAST, v.flow_id) = 1`,
      [ts(period.from), ts(period.to)],
    );
    const [totals] = plain<{ flows: number; non_conformant: number; violations: number }>(
      // Observation intervals of connections, each counted once (flows.counts_in_totals), not one per
      // observer's record; one is non-conformant when any of its records is. Violations: per rule
      // and connection.
      await session.all(`SELECT (SELECT count(*) FROM flows_in_period WHERE counts_in_totals) AS flows,
          (SELECT count(*) FROM flows_in_period WHERE counts_in_totals AND flow_id IN (SELECT counted_record_id FROM flows_in_period WHERE verdict <> 'conformant')) AS non_conformant,
          (SELECT count(DISTINCT (rule_id, connection_id)) FROM violations_in_period) AS violations`),
    );
    const evaluation = plain<{ rule_id: string; matched: number; breaching: number; excused: number; violating: number }>(
      await session.execute(compileRuleEvaluation(rulesFile.rules.rules, 'flows_in_period', 'connections')),
    );
    const published = plain<{ rule_id: string; severity: string; rule_kind: string; violating: number }>(
      await session.all(`SELECT rule_id, any_value(severity) AS severity, any_value(rule_kind) AS rule_kind, count(DISTINCT connection_id) AS violating FROM violations_in_period GROUP BY rule_id`),
    );
    const alertCounts = plain<{ rule_id: string; alerts: number }>(await session.all(`SELECT rule_id, count(*) AS alerts FROM alerts GROUP BY rule_id`));
    const rules: RuleRow[] = rulesFile.rules.rules.map((rule) => {
      const evaluated = evaluation.find((row) => row.rule_id === rule.id);
      const violating = published.find((row) => row.rule_id === rule.id)?.violating ?? 0;
      return {
        rule_id: rule.id,
        kind: rule.kind,
        severity: rule.severity,
        owner: rule.owner ?? null,
        description: rule.description,
        in_current_rules: true,
        evaluated: evaluated?.matched ?? 0,
        conformant: Math.max(0, (evaluated?.matched ?? 0) - (evaluated?.violating ?? 0)),
        violating,
        excused: evaluated?.excused ?? 0,
        alerts: alertCounts.find((row) => row.rule_id === rule.id)?.alerts ?? 0,
        status: ruleStatus({ rule_id: rule.id, violating }, totals!.flows > 0),
      };
    });
    for (const row of published.filter((p) => !rules.some((r) => r.rule_id === p.rule_id))) {
      rules.push({ rule_id: row.rule_id, kind: row.rule_kind, severity: row.severity, owner: null, description: '(no longer in the rules file)', in_current_rules: false, evaluated: 0, conformant: 0, violating: row.violating, excused: 0, alerts: alertCounts.find((a) => a.rule_id === row.rule_id)?.alerts ?? 0, status: ruleStatus(row, totals!.flows > 0) });
    }
    const bucketKind = period.to.getTime() - period.from.getTime() > 48 * HOUR_MS ? 'day' : 'hour';
    const bucketSql = bucketKind === 'day' ? `strftime(start_at, '%Y-%m-%d')` : `strftime(start_at, '%Y-%m-%dT%H')`;
    const trend = plain<ComplianceReport['trend'][number]>(
      await session.all(`WITH f AS (SELECT ${bucketSql} AS bucket, count(*) FILTER (WHERE counts_in_totals) AS flows FROM flows_in_period GROUP BY 1),
        v AS (SELECT ${bucketSql} AS bucket, rule_id, count(DISTINCT connection_id) AS violating FROM violations_in_period GROUP BY 1, 2),
        r AS (SELECT DISTINCT rule_id FROM violations_in_period UNION SELECT unnest(from_json(CAST($1 AS JSON), '["VARCHAR"]')))
        SELECT f.bucket, '${bucketKind}' AS bucket_kind, r.rule_id, coalesce(v.violating, 0) AS violating, f.flows
        FROM f CROSS JOIN r LEFT JOIN v ON v.bucket = f.bucket AND v.rule_id = r.rule_id ORDER BY f.bucket, r.rule_id`, [JSON.stringify(rulesFile.rules.rules.map((rule) => rule.id))]),
    );
    const topOffenders = plain<ComplianceReport['top_offenders'][number]>(
      await session.all(
        `SELECT v.src_ip, any_value(f.src_vm_name) AS vm_name, any_value(v.src_segment) AS segment, coalesce(any_value(f.src_tags), []) AS tags, count(DISTINCT (v.rule_id, v.connection_id)) AS violations,
                list_sort(list(DISTINCT v.rule_id)) AS rules, sum(v.bytes) AS bytes, min(v.start_at) AS first_seen_at, max(v.start_at) AS last_seen_at
         FROM violations_in_period AS v LEFT JOIN flows_in_period AS f USING (flow_id)
         GROUP BY v.src_ip ORDER BY violations DESC, bytes DESC, v.src_ip LIMIT $1`,
        [settings.top_offenders],
      ),
    );
    const evidence = plain<ComplianceReport['evidence'][number]>(
      await session.all(
        `SELECT v.rule_id, v.flow_id, v.start_at, v.source_type, v.src_ip, f.src_vm_name, v.src_port, v.dst_ip, f.dst_vm_name, v.dst_port, v.protocol, v.action, v.bytes,
                f.raw_object_key, f.raw_offset, v.run_id, v.rules_version
         FROM violations_in_period AS v LEFT JOIN flows_in_period AS f USING (flow_id)
         QUALIFY row_number() OVER (PARTITION BY v.rule_id ORDER BY v.start_at, v.flow_id) <= $1
         ORDER BY v.rule_id, v.start_at, v.flow_id`,
        [settings.evidence_samples],
      ),
    );
    const anomaliesByKind = plain<{ kind: string; severity: string; count: number }>(await session.all(`SELECT kind, severity, count(*) AS count FROM anomalies GROUP BY ALL ORDER BY kind, severity`));
    // Every anomaly, most severe first; ties in time order, never by the hash of the id.
    const allAnomalies = plain<AnomalyListed>(
      await session.all(`SELECT anomaly_id, hour_at, kind, severity, subject, src_ip, dst_ip, observed, baseline, score, distinct_hosts, distinct_ports, first_seen_at, last_seen_at, evidence FROM anomalies
        ORDER BY list_position(['critical', 'high', 'medium', 'low'], severity), score DESC, hour_at, kind, subject`),
    );
    const network = await networkViews(session, settings.top_offenders);
    const { options: _options, ...segmentation } = await recommendSegmentationRules(session, rulesFile.rules, period, recommendOptionsOf(context.config.recommend));
    const summary = summarize(coverage);
    return {
      kind: 'compliance',
      generated_at: now.toISOString(),
      period: { from: period.from.toISOString(), to: period.to.toISOString(), hours: coverage.length },
      completeness: completenessOf(coverage),
      controls: controlMapping
        ? { file: controlMapping.file, sha256: controlMapping.sha256, version: controlMapping.mapping.version ?? null, assessments: assessControls(controlMapping.mapping, rules, totals!.flows > 0) }
        : null,
      summary: {
        ...summary,
        flows: totals!.flows,
        non_conformant_flows: totals!.non_conformant,
        conformance_rate: totals!.flows > 0 ? (totals!.flows - totals!.non_conformant) / totals!.flows : null,
        violations: totals!.violations,
        alerts: alertCounts.reduce((sum, row) => sum + row.alerts, 0),
        anomalies: allAnomalies.length,
      },
      coverage,
      rules_in_force: {
        current: { file: rulesFile.file, sha256: rulesFile.sha256, version: rulesFile.rules.version ?? null, rules: rulesFile.rules.rules.length },
        observed: observedVersions(coverage, ledger),
      },
      rules,
      trend,
      top_offenders: topOffenders,
      evidence,
      network,
      anomalies: { total: allAnomalies.length, shown: Math.min(allAnomalies.length, settings.top_anomalies), by_kind: anomaliesByKind, top: allAnomalies.slice(0, settings.top_anomalies), all: allAnomalies },
      segmentation: { ...segmentation, yaml: recommendationsYaml(segmentation.recommendations, segmentation.default_denies) },
      inputs: inputFilesOf(lake.manifests),
    };
  } finally {
    await lake.close();
  }
}

/** Every hour of the period: published (on time or late), failed, missing, or not yet due. */
export function coverageOf(period: ReportPeriod, ledger: readonly LedgerEntry[], manifests: readonly { dt: string; hour: string; run_id: string; committed_at: string; rows: number }[], now: Date, latenessMs: number, lateAfterMs: number): CoverageHour[] {
  return hoursOf(period).map((hour) => {
    const label = hourLabel(hour);
    const manifest = manifests.find((m) => `${m.dt}T${m.hour}` === label);
    const entries = ledger.filter((entry) => entry.hour === label).sort((a, b) => a.finished_at.localeCompare(b.finished_at));
    const publishes = entries.filter((entry) => entry.status === 'published');
    const failures = entries.filter((entry) => entry.status === 'failed');
    const current = manifest ? (publishes.filter((entry) => entry.run_id === manifest.run_id).at(-1) ?? null) : null;
    const firstPublished = publishes[0]?.finished_at ?? manifest?.committed_at ?? null;
    const due = hour.getTime() + HOUR_MS + latenessMs;
    let status: CoverageStatus;
    if (manifest) status = firstPublished && Date.parse(firstPublished) > due + lateAfterMs ? 'late' : 'published';
    else if (due > now.getTime()) status = 'pending';
    else status = failures.length > 0 ? 'failed' : 'missing';
    return {
      hour: label,
      status,
      attempts: entries.length,
      failed_attempts: failures.length,
      first_published_at: manifest ? firstPublished : null,
      in_ledger: manifest ? current !== null : entries.length > 0,
      run_id: manifest?.run_id ?? null,
      flows: manifest?.rows ?? null,
      rules_hash: current?.rules_hash ?? null,
      reference_hash: current?.reference_hash ?? null,
      last_error: failures.at(-1)?.error ?? null,
    };
  });
}

/** What Azure Traffic Analytics and Akvorado users look at first, from the traffic matrix and the flows of the period. */
async function networkViews(session: DuckDbSession, top: number): Promise<ComplianceReport['network']> {
  return {
    pairs_over_time: plain(await session.all(`SELECT hour_at, concat(src_group, ' -> ', dst_group) AS pair, sum(bytes) AS bytes, sum(flows) AS flows FROM traffic_matrix WHERE dimension = 'segment' GROUP BY ALL ORDER BY hour_at, pair`)),
    matrix: plain(await session.all(`SELECT src_group, dst_group, sum(bytes) AS bytes, sum(flows) AS flows, sum(rejected_flows) AS rejected_flows FROM traffic_matrix WHERE dimension = 'segment' GROUP BY ALL ORDER BY src_group, dst_group`)),
    top_talkers: plain(
      await session.all(
        // What each address sent: its counting records' bytes, and the answers it sent inside Azure
        // tuples of which it is the destination (reverse_bytes), as the traffic matrix adds them to
        // the opposite pair; such an answer is no flow of its own (AWS and the agent log it as one).
        `WITH sent AS (
           SELECT src_ip, src_vm_name AS vm_name, src_segment AS segment, bytes, 1 AS flows FROM flows_in_period WHERE counts_in_totals
           UNION ALL
           SELECT dst_ip, dst_vm_name, dst_segment, reverse_bytes, 0 FROM flows_in_period WHERE counts_in_totals AND reverse_bytes > 0
         )
         SELECT src_ip, any_value(vm_name) AS vm_name, any_value(segment) AS segment, coalesce(sum(bytes), 0) AS bytes, sum(flows)::BIGINT AS flows FROM sent
         GROUP BY src_ip ORDER BY bytes DESC, src_ip LIMIT $1`,
        [top],
      ),
    ),
    rejected_by_port: plain(
      await session.all(
        `SELECT dst_port, protocol, count(*) AS flows, count(DISTINCT src_ip) AS sources FROM flows_in_period WHERE action = 'reject' AND counts_in_totals
         GROUP BY ALL ORDER BY flows DESC, dst_port LIMIT $1`,
        [top],
      ),
    ),
  };
}

/** An empty or partly missing period, in a sentence for the first page. */
export function completenessOf(coverage: readonly CoverageHour[]): ComplianceReport['completeness'] {
  const published = coverage.filter((hour) => hour.status === 'published' || hour.status === 'late').length;
  const count = (status: CoverageStatus) => coverage.filter((hour) => hour.status === status).length;
  if (published === 0) return { status: 'empty', message: `No hour of this period is published (${coverage.length} hour(s): ${count('failed')} failed, ${count('missing')} missing, ${count('pending')} not yet due). Nothing below is evidence of conformance.` };
  if (published < coverage.length) {
    return { status: 'partial', message: `${coverage.length - published} of ${coverage.length} hour(s) of this period are not published (${count('failed')} failed, ${count('missing')} missing, ${count('pending')} not yet due): the figures cover the ${published} published hour(s) only.` };
  }
  return { status: 'complete', message: null };
}

function summarize(coverage: CoverageHour[]) {
  const count = (...statuses: CoverageStatus[]) => coverage.filter((hour) => statuses.includes(hour.status)).length;
  return {
    hours_expected: coverage.length - count('pending'),
    hours_published: count('published', 'late'),
    hours_late: count('late'),
    hours_failed: count('failed'),
    hours_missing: count('missing'),
    hours_pending: count('pending'),
  };
}

function observedVersions(coverage: CoverageHour[], ledger: readonly LedgerEntry[]): ComplianceReport['rules_in_force']['observed'] {
  const groups = new Map<string, ComplianceReport['rules_in_force']['observed'][number]>();
  for (const hour of coverage.filter((h) => h.run_id)) {
    const entry = ledger.find((e) => e.run_id === hour.run_id && e.status === 'published');
    const key = `${hour.rules_hash}|${hour.reference_hash}`;
    const group = groups.get(key);
    if (group) {
      group.hours++;
      group.last_hour = hour.hour;
    } else {
      groups.set(key, { rules_hash: hour.rules_hash, rules_version: entry?.rules_version ?? null, reference_hash: hour.reference_hash, hours: 1, first_hour: hour.hour, last_hour: hour.hour });
    }
  }
  return [...groups.values()];
}
