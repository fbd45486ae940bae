import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { durationMs, type Config } from '../schemas/config.ts';
import type { AnalyticsConfig } from '../schemas/analytics-config.ts';
import { anomaliesTable, capacityHourlyTable } from '../schemas/tables/index.ts';
import type { AnomalyRow } from '../schemas/tables/anomalies.ts';
import { projectionSql, type TableDefinition } from '../schemas/tables/table-definition.ts';
import { dataFileProjectionSql } from '../lib/delta/delta-schema.ts';
import { assertFileSchema, statsOfFile } from '../lib/publish/export-tables.ts';
import { sqlIdentifier, sqlString, type DuckDbSession } from '../lib/duckdb/duckdb-session.ts';
import type { AlertPayload } from '../lib/alerts/alert-payload.ts';
import type { AlertSink } from '../lib/alerts/alert-sink.ts';
import { createSinks, deliverRunAlerts, type SinkDelivery } from '../lib/alerts/deliver-alerts.ts';
import type { Logger } from '../lib/log/logger.ts';
import { parseModelFile, type ModelDefinition } from '../lib/models/model-definition.ts';
import { ModelRunner, type ModelResult } from '../lib/models/model-runner.ts';
import { readPublishedPartition } from '../lib/delta/published-partitions.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { publishPartition, type PublishedTable, type StagedTable } from '../lib/publish/publish-partition.ts';
import { openLakeSession } from '../lib/query/lake-session.ts';
import { loadVmCapacities, type VmCapacity } from '../lib/reports/reference-files.ts';
import { datesOf } from '../lib/reports/report-period.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { packagePath } from '../lib/process/package-root.ts';

/** Bumped whenever a change to the analytics models changes published rows for the same inputs. */
export const ANALYTICS_VERSION = '2';

export const ANALYTICS_SQL_DIR = packagePath('sql', 'analytics');

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface HourlyAnalyticsOptions {
  config: Config;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  /** First event hour to analyse (UTC, on the hour). */
  from: Date;
  /** End of the range (exclusive); one hour after `from` when absent. */
  to?: Date;
  now?: () => Date;
  /** Alert sinks (default: the configured ones); anomalies go to them with a delivery state of their own. */
  alertSinks?: readonly AlertSink[];
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  /** Rebuild and republish hours that are up to date too. */
  force?: boolean;
  /** Told after each hour that had work to do (done of the hours to build), for a progress line. */
  onHourDone?: (done: number, total: number) => void;
}

export interface AnalyticsHourResult {
  hour: string;
  /** `skipped`: the hour has no published flows to analyse; `current`: its published partitions were made from the same inputs. */
  status: 'published' | 'skipped' | 'current' | 'failed';
  runId: string;
  attemptId: string;
  anomalies: number;
  capacityRows: number;
  tables: PublishedTable[];
  models: ModelResult[];
  /** Per sink: anomalies of the hour delivered, still pending, or already delivered by an earlier run. */
  alertDelivery: Record<string, SinkDelivery>;
  /** Detectors that reported nothing because the lake held fewer published hours in their look-back than their min_history_hours (cold start). */
  coldStart: DetectorHistory[];
  error?: string;
}

export interface HourlyAnalyticsResult {
  status: 'published' | 'failed';
  hours: AnalyticsHourResult[];
  /** Anomalies of severity medium and above, for alert delivery. */
  alerts: AnomalyRow[];
  /** Models built once over the loaded window. */
  models: ModelResult[];
  thresholdsVersion: string;
  durationsMs: Record<string, number>;
  error?: string;
}

/**
 * The analytics job for a range of event hours: anomalies and capacity need the trailing days of
 * curated flows, which the hourly job's session never sees, so this job reads the lake (through
 * manifests, like every reader) and publishes `anomalies` and `capacity_hourly` per hour, each
 * partition a pure function of the flow files it read, the thresholds and the inventory. Run it
 * after the hourly job of the same hour; rerun it when a partition of the look-back changes.
 */
export async function runHourlyAnalytics(options: HourlyAnalyticsOptions): Promise<HourlyAnalyticsResult> {
  const started = performance.now();
  const { config, store } = options;
  const from = options.from;
  const to = options.to ?? new Date(from.getTime() + HOUR_MS);
  const now = options.now ?? (() => new Date());
  const settings = config.analytics;
  const thresholdsVersion = thresholdsHash(settings);
  const result: HourlyAnalyticsResult = { status: 'failed', hours: [], alerts: [], models: [], thresholdsVersion, durationsMs: {} };
  const logger = options.logger.child({ job: 'analytics', from: from.toISOString().slice(0, 13), to: to.toISOString().slice(0, 13) });
  if (from.getTime() % HOUR_MS !== 0 || to.getTime() % HOUR_MS !== 0 || to <= from) {
    result.error = `analytics needs whole hours with from < to: ${from.toISOString()} .. ${to.toISOString()}`;
    return result;
  }
  const lookbackMs =
    Math.max(settings.fan_out.baseline_days, settings.host_sweep.baseline_days, settings.new_talkers.lookback_days, settings.volume.baseline_days, settings.exfiltration.lookback_days) * DAY_MS +
    (settings.exfiltration.window_hours + 2) * HOUR_MS;
  const windowStart = from.getTime() - lookbackMs;
  let lake: Awaited<ReturnType<typeof openLakeSession>> | undefined;
  try {
    const inventory = await loadVmCapacities(config, options.baseDir);
    lake = await openLakeSession({
      store,
      workDir: path.resolve(options.baseDir, config.work_dir),
      memoryLimit: config.duckdb.memory_limit,
      maxTempDirectorySize: config.duckdb.max_temp_directory_size,
      dates: datesOf({ from: new Date(windowStart), to }),
      includePartition: (table, partition) => {
        if (table !== 'flows') return false;
        const hour = Date.parse(`${partition.dt}T${partition.hour}:00:00Z`);
        return hour >= windowStart && hour < to.getTime();
      },
    });
    const session = lake.session;
    const flowManifests = lake.manifests.flows ?? [];
    // The session's views of the analytics tables are replaced by this job's models of the same name.
    for (const table of [anomaliesTable, capacityHourlyTable]) await session.run(`DROP VIEW IF EXISTS ${sqlIdentifier(table.name)}`);
    await installInputs(session, settings, inventory.vms, thresholdsVersion);
    const { prep, hourly } = await loadAnalyticsModels();
    const runner = new ModelRunner(session, logger);

    // Each sink keeps a delivery state of its own for anomalies (alerts/_delivery/<sink>/anomalies/…), apart from rule alerts of the same hour.
    const sinks = (options.alertSinks ?? createSinks(config.alerts.sinks, { env: options.env ?? process.env, stdout: options.stdout ?? ((text) => process.stdout.write(text)) })).map(
      (sink): AlertSink => ({ name: `${sink.name}/anomalies`, minSeverity: sink.minSeverity, deliver: (alerts) => sink.deliver(alerts) }),
    );
    const published = new Map(flowManifests.map((manifest) => [`${manifest.dt}T${manifest.hour}`, manifest]));
    const planned: { hour: Date; label: string; hourMs: number; hourResult: AnalyticsHourResult }[] = [];
    for (let hourMs = from.getTime(); hourMs < to.getTime(); hourMs += HOUR_MS) {
      const hour = new Date(hourMs);
      const label = hour.toISOString().slice(0, 13);
      const attemptId = `${now()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
      const hourResult: AnalyticsHourResult = { hour: label, status: 'failed', runId: '', attemptId, anomalies: 0, capacityRows: 0, tables: [], models: [], alertDelivery: {}, coldStart: [] };
      result.hours.push(hourResult);
      if (!published.has(label)) {
        hourResult.status = 'skipped';
        continue;
      }
      const inputs = flowManifests
        .filter((manifest) => {
          const at = Date.parse(`${manifest.dt}T${manifest.hour}:00:00Z`);
          return at >= hourMs - lookbackMs && at <= hourMs;
        })
        .flatMap((manifest) => manifest.files.map((file) => file.sha256))
        .sort();
      hourResult.runId = `${label.replace(/[-:]/g, '')}-a${createHash('sha256')
        .update(`analytics ${ANALYTICS_VERSION}\nthresholds ${thresholdsVersion}\ninventory ${inventory.sha256}\n${inputs.join('\n')}`)
        .digest('hex')
        .slice(0, 15)}`;
      // Same inputs, same rows: an hour whose published partitions carry this run id is up to date.
      if (
        !options.force &&
        (await Promise.all([anomaliesTable, capacityHourlyTable].map((table) => readPublishedPartition(store, table, partitionOf(hour))))).every((m) => m?.run_id === hourResult.runId)
      ) {
        hourResult.status = 'current';
        continue;
      }
      planned.push({ hour, label, hourMs, hourResult });
    }
    if (planned.length > 0) {
      const prepStarted = performance.now();
      const prepRun = await runner.run(prep, new Set(['flows', 'an_vm_capacity', 'an_link_capacity']));
      result.models = prepRun.models;
      result.durationsMs.prepare = Math.round(performance.now() - prepStarted);
      if (prepRun.error) throw new Error(prepRun.error);
    }
    for (const plannedHour of planned) {
      const { hour, label, hourMs, hourResult } = plannedHour;
      const attemptId = hourResult.attemptId;
      try {
        await session.run(`SET VARIABLE hour_start = CAST($1 AS TIMESTAMP)`, [hour.toISOString().replace('Z', '')]);
        await session.run(`SET VARIABLE hour_end = CAST($1 AS TIMESTAMP)`, [new Date(hourMs + HOUR_MS).toISOString().replace('Z', '')]);
        await session.run(`SET VARIABLE run_id = CAST($1 AS VARCHAR)`, [hourResult.runId]);
        const run = await runner.run(hourly, new Set([...prep.map((model) => model.name), 'flows', 'an_vm_capacity', 'an_link_capacity']));
        hourResult.models = run.models;
        if (run.error) throw new Error(run.error);
        const outDir = path.join(lake.scratchDir, 'out', label);
        await mkdir(outDir, { recursive: true });
        const staged: StagedTable[] = [];
        for (const table of [anomaliesTable, capacityHourlyTable] as TableDefinition[]) staged.push(await exportTable(session, table, outDir));
        hourResult.anomalies = staged[0]!.files[0]!.rows;
        hourResult.coldStart = coldDetectors(settings, await historyHours(session));
        if (hourResult.coldStart.length > 0) {
          logger.warn('detectors lack history: cold start, no findings from them', {
            hour: label,
            detectors: hourResult.coldStart.map((d) => `${d.detector} ${d.history_hours}/${d.min_history_hours} h`).join(', '),
          });
        }
        hourResult.capacityRows = staged[1]!.files[0]!.rows;
        const hourAlerts = await session.all<AnomalyRow>(
          `SELECT ${projectionSql(anomaliesTable)} FROM anomalies WHERE severity IN ('medium', 'high', 'critical') ORDER BY list_position(['critical', 'high', 'medium'], severity), kind, anomaly_id`,
        );
        result.alerts.push(...hourAlerts);
        hourResult.tables = await publishPartition({
          store,
          partition: partitionOf(hour),
          runId: hourResult.runId,
          attemptId,
          tables: staged,
          logger,
          now,
          gracePeriodMs: durationMs(config.publish.grace_period),
          checkpointInterval: config.publish.checkpoint_interval,
          logRetentionMs: durationMs(config.publish.log_retention),
        });
        hourResult.status = 'published';
        hourResult.alertDelivery = await deliverRunAlerts({
          store,
          sinkConfigs: [],
          sinks: sinks ?? [],
          hour: label,
          alerts: hourAlerts.map(anomalyAlertPayload),
          logger,
          env: options.env,
          stdout: options.stdout,
          now,
        });
        logger.info('analytics hour published', { hour: label, anomalies: hourResult.anomalies, capacity_rows: hourResult.capacityRows, run_id: hourResult.runId });
      } catch (error) {
        hourResult.error = (error as Error).message;
        logger.error('analytics hour failed', { hour: label, error: hourResult.error });
      }
      options.onHourDone?.(planned.indexOf(plannedHour) + 1, planned.length);
    }
    const failed = result.hours.filter((hour) => hour.status === 'failed');
    result.status = failed.length === 0 ? 'published' : 'failed';
    if (failed.length > 0) result.error = failed.map((hour) => `${hour.hour}: ${hour.error}`).join('; ');
  } catch (error) {
    result.error = (error as Error).message;
    logger.error('analytics failed', { error: result.error });
  } finally {
    await lake?.close();
    result.durationsMs.total = Math.round(performance.now() - started);
  }
  return result;
}

/** An anomaly as alert sinks receive it: `rule_id` is `anomaly:<kind>`, the thresholds version stands for the rules version. */
export function anomalyAlertPayload(row: AnomalyRow): AlertPayload {
  return {
    alert_id: `anomaly-${row.anomaly_id}`,
    rule_id: `anomaly:${row.kind}`,
    rule_kind: 'anomaly',
    severity: row.severity,
    owner: null,
    description: `${row.kind.replaceAll('_', ' ')} ${row.subject}: observed ${row.observed}${row.baseline === null ? '' : `, baseline ${row.baseline}`}, threshold ${row.threshold}`,
    hour: row.hour_at.toISOString().slice(0, 13),
    src_ip: row.src_ip ?? row.subject,
    dst_ip: row.dst_ip ?? row.dst_segment ?? '',
    dst_port: row.dst_port,
    protocol: row.protocol ?? 0,
    src_vm_id: row.src_vm_id,
    dst_vm_id: null,
    src_threat_lists: [],
    dst_threat_lists: [],
    flow_count: Number(row.flow_count),
    packets: 0,
    bytes: Number(row.bytes),
    first_seen_at: row.window_start_at.toISOString(),
    last_seen_at: row.window_end_at.toISOString(),
    sample_flows: [{ evidence: JSON.parse(row.evidence) as unknown, sample_flow_ids: [...row.sample_flow_ids] }],
    rules_version: row.thresholds_version,
    run_id: row.run_id,
  };
}

/** Hash of the detection and capacity settings: recorded on every anomaly as `thresholds_version`. */
export function thresholdsHash(settings: AnalyticsConfig): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16)}`;
}

async function installInputs(session: DuckDbSession, settings: AnalyticsConfig, vms: VmCapacity[], thresholdsVersion: string): Promise<void> {
  const variables: [string, string, unknown][] = [
    ['fan_out_window_min', 'INTEGER', minutes(settings.fan_out.window)],
    ['fan_out_threshold', 'INTEGER', settings.fan_out.threshold],
    ['fan_out_baseline_days', 'INTEGER', settings.fan_out.baseline_days],
    ['fan_out_baseline_factor', 'DOUBLE', settings.fan_out.baseline_factor],
    ['fan_out_min_history_hours', 'INTEGER', settings.fan_out.min_history_hours],
    ['host_sweep_window_min', 'INTEGER', minutes(settings.host_sweep.window)],
    ['host_sweep_threshold', 'INTEGER', settings.host_sweep.threshold],
    ['host_sweep_baseline_days', 'INTEGER', settings.host_sweep.baseline_days],
    ['host_sweep_baseline_factor', 'DOUBLE', settings.host_sweep.baseline_factor],
    ['host_sweep_min_history_hours', 'INTEGER', settings.host_sweep.min_history_hours],
    ['port_scan_window_min', 'INTEGER', minutes(settings.port_scan.window)],
    ['port_scan_threshold', 'INTEGER', settings.port_scan.threshold],
    ['port_scan_min_history_hours', 'INTEGER', settings.port_scan.min_history_hours],
    ['new_talker_lookback_days', 'INTEGER', settings.new_talkers.lookback_days],
    ['new_talker_min_history_hours', 'INTEGER', settings.new_talkers.min_history_hours],
    ['new_talker_max_listed_pairs', 'INTEGER', settings.new_talkers.max_listed_pairs],
    ['exfil_window_hours', 'INTEGER', settings.exfiltration.window_hours],
    ['exfil_min_bytes', 'BIGINT', settings.exfiltration.min_bytes],
    ['exfil_min_active_hours', 'INTEGER', settings.exfiltration.min_active_hours],
    ['exfil_lookback_days', 'INTEGER', settings.exfiltration.lookback_days],
    ['exfil_min_history_hours', 'INTEGER', settings.exfiltration.min_history_hours],
    ['volume_baseline_days', 'INTEGER', settings.volume.baseline_days],
    ['volume_min_points', 'INTEGER', settings.volume.min_points],
    ['volume_z_threshold', 'DOUBLE', settings.volume.z_threshold],
    ['volume_min_bytes', 'BIGINT', settings.volume.min_bytes],
    ['volume_mad_floor_ratio', 'DOUBLE', settings.volume.mad_floor_ratio],
    ['volume_min_ratio', 'DOUBLE', settings.volume.min_ratio],
    ['capacity_warning', 'DOUBLE', settings.capacity.warning],
    ['capacity_critical', 'DOUBLE', settings.capacity.critical],
    ['thresholds_version', 'VARCHAR', thresholdsVersion],
  ];
  for (const [name, type, value] of variables) await session.run(`SET VARIABLE ${name} = CAST($1 AS ${type})`, [value]);
  // Reference rows go in as one bound JSON value: the session may write only to its scratch folder.
  await session.run(
    `CREATE OR REPLACE TABLE an_vm_capacity AS
     SELECT unnest(from_json(CAST($1 AS JSON), '[{"vm_id":"VARCHAR","vm_name":"VARCHAR","segment":"VARCHAR","capacity_mbps":"DOUBLE"}]'), recursive := true)`,
    [JSON.stringify(vms.map(({ vm_id, vm_name, segment, capacity_mbps }) => ({ vm_id, vm_name, segment, capacity_mbps })))],
  );
  await session.run(
    `CREATE OR REPLACE TABLE an_link_capacity AS
     SELECT unnest(from_json(CAST($1 AS JSON), '[{"src_segment":"VARCHAR","dst_segment":"VARCHAR","capacity_mbps":"DOUBLE"}]'), recursive := true)`,
    [JSON.stringify(settings.capacity.links.map((link) => ({ src_segment: link.from, dst_segment: link.to, capacity_mbps: link.capacity_mbps })))],
  );
}

export interface DetectorHistory {
  detector: string;
  history_hours: number;
  min_history_hours: number;
}

/** Published hours before the session's hour within each detector's look-back (sql/analytics/hour/detector_history.sql). */
async function historyHours(session: DuckDbSession): Promise<Record<string, number>> {
  const [row] = await session.all<Record<string, bigint>>(`SELECT * FROM detector_history`);
  return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key.replace(/_hours$/, ''), Number(value)]));
}

/** The detectors whose look-back holds less history than they need: they report nothing for the hour, and the job says so. */
export function coldDetectors(settings: AnalyticsConfig, history: Record<string, number>): DetectorHistory[] {
  const needs: [string, string, number][] = [
    ['fan_out', 'fan_out', settings.fan_out.min_history_hours],
    ['host_sweep', 'host_sweep', settings.host_sweep.min_history_hours],
    ['port_scan', 'port_scan', settings.port_scan.min_history_hours],
    ['new_talker', 'new_talker', settings.new_talkers.min_history_hours],
    // The volume detector's history is the same hour of past days: min_points of them.
    ['volume_spike', 'volume', settings.volume.min_points],
    ['slow_exfiltration', 'exfil', settings.exfiltration.min_history_hours],
  ];
  return needs.map(([detector, key, min]) => ({ detector, history_hours: history[key] ?? 0, min_history_hours: min })).filter((d) => d.history_hours < d.min_history_hours);
}

function minutes(window: string): number {
  return Number(window.replace(/m$/, ''));
}

/** `sql/analytics/*.sql` run once over the loaded window; `sql/analytics/hour/*.sql` once per hour. */
export async function loadAnalyticsModels(sqlDir = ANALYTICS_SQL_DIR): Promise<{ prep: ModelDefinition[]; hourly: ModelDefinition[] }> {
  const load = async (dir: string, stage: string) => {
    const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
    return Promise.all(files.map(async (file) => parseModelFile(path.relative(process.cwd(), path.join(dir, file)), stage, await readFile(path.join(dir, file), 'utf8'))));
  };
  return { prep: await load(sqlDir, 'analytics'), hourly: await load(path.join(sqlDir, 'hour'), 'analytics') };
}

async function exportTable(session: DuckDbSession, table: TableDefinition, outDir: string): Promise<StagedTable> {
  const file = path.join(outDir, `${table.name}.parquet`);
  await session.run(
    `COPY (SELECT ${dataFileProjectionSql(table)} FROM ${sqlIdentifier(table.name)} ORDER BY ${table.orderBy.map(sqlIdentifier).join(', ')}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`,
  );
  const [{ n }] = (await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`)) as [{ n: bigint }];
  const expected = Number((await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${sqlIdentifier(table.name)}`))[0]!.n);
  if (Number(n) !== expected) throw new Error(`export of ${table.name} holds ${n} rows, expected ${expected}`);
  await assertFileSchema(session, table, file);
  return { table, files: [{ localPath: file, rows: expected, stats: await statsOfFile(session, table, file) }] };
}
