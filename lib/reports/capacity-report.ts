import { projectCritical, type DailyPoint, type ProjectionKind } from './capacity-trend.ts';
import { recommendCapacityAction } from './capacity-action.ts';
import { loadVmCapacities, type VmCapacity } from './reference-files.ts';
import { datesOf, partitionInPeriod, type ReportPeriod } from './report-period.ts';
import { inputFilesOf, openReportLake, plain, type InputFile, type ReportContext } from './report-context.ts';

export interface CapacityEntity {
  scope: 'vm' | 'segment_pair';
  entity_id: string;
  name: string;
  segment: string | null;
  capacity_mbps: number | null;
  /** In the report period: the worst hour. */
  peak_utilization: number | null;
  peak_p95_mbps: number;
  peak_max_mbps: number;
  peak_hour_at: Date | null;
  hours: number;
  hours_warning: number;
  hours_critical: number;
  status: 'ok' | 'warning' | 'critical' | 'unknown';
  /** Over the trailing weeks: daily peak utilization, its slope and where it meets critical. */
  trend_slope_per_day: number | null;
  /** One-sided 95 % lower bound of that slope; a projection is made only when it is above zero. */
  trend_slope_lower_per_day: number | null;
  projection: ProjectionKind;
  /** Why there is no projected date (`no significant trend`, `falling`, too few points, beyond the horizon). */
  projection_note: string | null;
  projected_critical_date: string | null;
  days_to_critical: number | null;
  /** From the trailing hours of the period: the hour a ramp within the day reaches critical, when within the short-term horizon. */
  short_term_critical_at: string | null;
  /** From the inventory (VMs) or the segments' VMs (links); null where the inventory does not say. */
  owner: string | null;
  sku: string | null;
  recommended_action: string | null;
  at_risk: boolean;
  risk_reason: string | null;
  daily: { day: string; peak_utilization: number | null; peak_p95_mbps: number }[];
  /** Every hour of the report period with traffic. */
  hourly: { hour_at: Date; utilization: number | null; p95_mbps: number; max_mbps: number; status: string }[];
}

export interface CapacityReport {
  kind: 'capacity';
  generated_at: string;
  period: { from: string; to: string };
  trend_window: { from: string; to: string; weeks: number };
  thresholds: { warning: number; critical: number; horizon_days: number; short_term_horizon_hours: number };
  /** The inventory owners, SKUs and capacities came from; `error` when it could not be read (the report goes on without them). */
  inventory: { files: string[]; sha256: string | null; error: string | null };
  summary: { vms: number; segment_pairs: number; critical: number; warning: number; at_risk: number; unknown_capacity: number };
  entities: CapacityEntity[];
  at_risk: CapacityEntity[];
  inputs: InputFile[];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Utilization per VM and segment pair over the period, with the trailing-weeks trend and the at-risk list. */
export async function buildCapacityReport(context: ReportContext, period: ReportPeriod): Promise<CapacityReport> {
  const now = context.now?.() ?? new Date();
  const settings = context.config.analytics.capacity;
  const trendFrom = new Date(Math.floor((period.to.getTime() - settings.trend_weeks * 7 * DAY_MS) / DAY_MS) * DAY_MS);
  const windowStart = new Date(Math.min(trendFrom.getTime(), period.from.getTime()));
  const window = { from: windowStart, to: period.to };
  const inventory = await loadInventory(context);
  const lake = await openReportLake(context, (table, partition) => table === 'capacity_hourly' && partitionInPeriod(partition, window), datesOf(window));
  try {
    const ts = (date: Date) => date.toISOString().replace('Z', '');
    const rows = plain<{ scope: 'vm' | 'segment_pair'; entity_id: string; name: string; segment: string | null; capacity_mbps: number | null; day: Date; in_period: boolean; peak_utilization: number | null; peak_p95_mbps: number; peak_max_mbps: number; peak_hour_at: Date; hours: number; hours_warning: number; hours_critical: number }>(
      await lake.session.all(
        `SELECT scope, entity_id,
                coalesce(any_value(vm_name), entity_id) AS name,
                any_value(src_segment) AS segment,
                max(capacity_mbps) AS capacity_mbps,
                date_trunc('day', hour_at) AS day,
                hour_at >= CAST($1 AS TIMESTAMP) AS in_period,
                max(utilization) AS peak_utilization,
                max(p95_mbps) AS peak_p95_mbps,
                max(max_mbps) AS peak_max_mbps,
                arg_max(hour_at, (coalesce(utilization, p95_mbps), -epoch(hour_at))) AS peak_hour_at,
                count(*) AS hours,
                count(*) FILTER (WHERE status = 'warning') AS hours_warning,
                count(*) FILTER (WHERE status = 'critical') AS hours_critical
         FROM capacity_hourly
         WHERE hour_at >= CAST($2 AS TIMESTAMP) AND hour_at < CAST($3 AS TIMESTAMP)
         GROUP BY scope, entity_id, day, in_period
         ORDER BY scope, entity_id, day`,
        [ts(period.from), ts(windowStart), ts(period.to)],
      ),
    );
    const entities = new Map<string, CapacityEntity>();
    const points = new Map<string, DailyPoint[]>();
    for (const row of rows) {
      const key = `${row.scope}|${row.entity_id}`;
      let entity = entities.get(key);
      if (!entity) {
        entity = {
          scope: row.scope, entity_id: row.entity_id, name: row.name, segment: row.segment, capacity_mbps: row.capacity_mbps,
          peak_utilization: null, peak_p95_mbps: 0, peak_max_mbps: 0, peak_hour_at: null, hours: 0, hours_warning: 0, hours_critical: 0, status: 'unknown',
          trend_slope_per_day: null, trend_slope_lower_per_day: null, projection: 'none', projection_note: null, projected_critical_date: null, days_to_critical: null, short_term_critical_at: null,
          owner: null, sku: null, recommended_action: null, at_risk: false, risk_reason: null, daily: [], hourly: [],
        };
        entities.set(key, entity);
        points.set(key, []);
      }
      const day = row.day.toISOString().slice(0, 10);
      const existing = entity.daily.find((d) => d.day === day);
      if (existing) {
        existing.peak_utilization = maxOf(existing.peak_utilization, row.peak_utilization);
        existing.peak_p95_mbps = Math.max(existing.peak_p95_mbps, row.peak_p95_mbps);
      } else {
        entity.daily.push({ day, peak_utilization: row.peak_utilization, peak_p95_mbps: row.peak_p95_mbps });
      }
      if (row.in_period) {
        entity.capacity_mbps = row.capacity_mbps ?? entity.capacity_mbps;
        if (entity.peak_hour_at === null || (row.peak_utilization ?? -1) > (entity.peak_utilization ?? -1)) entity.peak_hour_at = row.peak_hour_at;
        entity.peak_utilization = maxOf(entity.peak_utilization, row.peak_utilization);
        entity.peak_p95_mbps = Math.max(entity.peak_p95_mbps, row.peak_p95_mbps);
        entity.peak_max_mbps = Math.max(entity.peak_max_mbps, row.peak_max_mbps);
        entity.hours += row.hours;
        entity.hours_warning += row.hours_warning;
        entity.hours_critical += row.hours_critical;
      }
    }
    const hourly = plain<{ scope: string; entity_id: string; hour_at: Date; utilization: number | null; p95_mbps: number; max_mbps: number; status: string }>(
      await lake.session.all(
        `SELECT scope, entity_id, hour_at, utilization, p95_mbps, max_mbps, status FROM capacity_hourly
         WHERE hour_at >= CAST($1 AS TIMESTAMP) AND hour_at < CAST($2 AS TIMESTAMP) ORDER BY scope, entity_id, hour_at`,
        [ts(period.from), ts(period.to)],
      ),
    );
    for (const { scope, entity_id, ...point } of hourly) entities.get(`${scope}|${entity_id}`)?.hourly.push(point);
    for (const [key, entity] of entities) {
      const daily = entity.daily.filter((d) => d.peak_utilization !== null).map((d) => ({ day: new Date(`${d.day}T00:00:00Z`), value: d.peak_utilization! }));
      points.set(key, daily);
      if (entity.hours === 0) {
        entities.delete(key);
        continue;
      }
      entity.status = entity.capacity_mbps === null || entity.peak_utilization === null ? 'unknown' : entity.hours_critical > 0 ? 'critical' : entity.hours_warning > 0 ? 'warning' : 'ok';
      const projection = projectCritical(daily, settings.critical, { minPoints: settings.min_trend_days, horizon: settings.horizon_days, minSlope: settings.min_slope_per_day });
      entity.trend_slope_per_day = projection.trend?.slope_per_day ?? null;
      entity.trend_slope_lower_per_day = projection.trend && Number.isFinite(projection.trend.slope_lower) ? projection.trend.slope_lower : null;
      entity.projection = projection.kind;
      entity.projection_note = projection.reason;
      entity.projected_critical_date = projection.date?.toISOString().slice(0, 10) ?? null;
      entity.days_to_critical = projection.days_from_last;
      const recentHours = entity.hourly
        .filter((h) => h.utilization !== null)
        .slice(-settings.short_term_hours)
        .map((h) => ({ day: new Date(h.hour_at), value: h.utilization! }));
      const shortTerm = projectCritical(recentHours, settings.critical, { minPoints: 6, horizon: settings.short_term_horizon_hours, unitMs: HOUR_MS, minSlope: settings.min_slope_per_day });
      if (shortTerm.kind === 'projected') entity.short_term_critical_at = shortTerm.date!.toISOString().slice(0, 13) + ':00Z';
      if (entity.status === 'critical') {
        entity.at_risk = true;
        entity.risk_reason = `critical in ${entity.hours_critical} hour(s) of the period`;
      } else if (entity.short_term_critical_at !== null) {
        entity.at_risk = true;
        entity.risk_reason = `rising within the day: projected to reach ${Math.round(settings.critical * 100)} % at ${entity.short_term_critical_at}`;
      } else if (projection.kind === 'projected') {
        entity.at_risk = true;
        entity.risk_reason = `projected to reach ${Math.round(settings.critical * 100)} % in ${projection.days_from_last} day(s)`;
      } else if (entity.status === 'warning') {
        entity.at_risk = true;
        entity.risk_reason = `warning in ${entity.hours_warning} hour(s) of the period`;
      }
      Object.assign(entity, describeOwner(entity, inventory.vms));
      if (entity.at_risk) entity.recommended_action = recommendCapacityAction(entity);
    }
    const list = [...entities.values()].sort((a, b) => (b.peak_utilization ?? -1) - (a.peak_utilization ?? -1) || a.entity_id.localeCompare(b.entity_id));
    const atRisk = list
      .filter((e) => e.at_risk)
      .sort((a, b) => soonest(a).localeCompare(soonest(b)) || (b.peak_utilization ?? 0) - (a.peak_utilization ?? 0));
    return {
      kind: 'capacity',
      generated_at: now.toISOString(),
      period: { from: period.from.toISOString(), to: period.to.toISOString() },
      trend_window: { from: windowStart.toISOString(), to: period.to.toISOString(), weeks: settings.trend_weeks },
      thresholds: { warning: settings.warning, critical: settings.critical, horizon_days: settings.horizon_days, short_term_horizon_hours: settings.short_term_horizon_hours },
      inventory: { files: inventory.files, sha256: inventory.sha256, error: inventory.error },
      summary: {
        vms: list.filter((e) => e.scope === 'vm').length,
        segment_pairs: list.filter((e) => e.scope === 'segment_pair').length,
        critical: list.filter((e) => e.status === 'critical').length,
        warning: list.filter((e) => e.status === 'warning').length,
        at_risk: atRisk.length,
        unknown_capacity: list.filter((e) => e.status === 'unknown').length,
      },
      entities: list,
      at_risk: atRisk,
      inputs: inputFilesOf(lake.manifests),
    };
  } finally {
    await lake.close();
  }
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** The earliest date an entity is (or will be) critical, for ordering the at-risk list. */
function soonest(entity: CapacityEntity): string {
  return entity.short_term_critical_at ?? entity.projected_critical_date ?? '9999';
}

async function loadInventory(context: ReportContext): Promise<{ vms: VmCapacity[]; files: string[]; sha256: string | null; error: string | null }> {
  try {
    return { ...(await loadVmCapacities(context.config, context.baseDir)), error: null };
  } catch (error) {
    const message = (error as Error).message;
    context.logger.warn('capacity report without inventory owners and SKUs', { error: message });
    return { vms: [], files: [], sha256: null, error: message };
  }
}

/** A VM's owner and SKU from the inventory; a link's owners are the teams of the VMs in its two segments. */
function describeOwner(entity: CapacityEntity, vms: readonly VmCapacity[]): { owner: string | null; sku: string | null } {
  if (entity.scope === 'vm') {
    const vm = vms.find((v) => v.vm_id === entity.entity_id);
    return { owner: vm?.owner_team ?? null, sku: vm?.sku ?? null };
  }
  const [from, to] = entity.entity_id.split(' -> ');
  const teams = [...new Set(vms.filter((v) => v.segment === from || v.segment === to).flatMap((v) => (v.owner_team ? [v.owner_team] : [])))].sort();
  return { owner: teams.length ? teams.join(', ') : null, sku: null };
}
