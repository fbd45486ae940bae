import type { AlertSinkConfig } from '../../schemas/config.ts';
import type { Logger } from '../log/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { atLeast, type AlertPayload } from './alert-payload.ts';
import type { AlertSink } from './alert-sink.ts';
import { DeliveryState } from './delivery-state.ts';
import { StdoutSink } from './stdout-sink.ts';
import { WebhookSink, type WebhookSinkDeps } from './webhook-sink.ts';

export interface SinkDelivery {
  /** Alert ids this run delivered (of this hour or of earlier pending hours). */
  delivered: string[];
  /** Alerts still pending for the sink after this run, all hours. */
  pending: number;
  /** Alerts of this hour skipped because an earlier run delivered them. */
  already_delivered: number;
  error: string | null;
}

export interface SinkFactoryDeps {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  webhook?: Omit<WebhookSinkDeps, 'secret'>;
}

/** Builds the configured sinks; secrets come from the environment variables the configuration names. */
export function createSinks(configs: readonly AlertSinkConfig[], deps: SinkFactoryDeps): AlertSink[] {
  return configs.map((config) =>
    config.type === 'webhook' ? new WebhookSink(config, { ...deps.webhook, secret: config.secret_env ? deps.env[config.secret_env] : undefined }) : new StdoutSink(config, deps.stdout),
  );
}

/**
 * Sends one hour's alerts to every sink, exactly once per (sink, alert id) as far as the sink
 * acknowledges: alerts a previous run delivered are skipped (a rerun or a backfill does not notify
 * again), alerts a sink refused stay pending and are retried, with every other pending hour, by
 * the next run. Never throws for a sink's failure; a store failure propagates.
 */
export async function deliverAlerts(options: {
  store: ObjectStore;
  sinks: readonly AlertSink[];
  hour: string;
  alerts: readonly AlertPayload[];
  logger: Logger;
  now?: () => Date;
}): Promise<Record<string, SinkDelivery>> {
  const now = options.now ?? (() => new Date());
  const report: Record<string, SinkDelivery> = {};
  for (const sink of options.sinks) {
    const state = new DeliveryState(options.store, sink.name);
    const byHour = new Map<string, AlertPayload[]>();
    const storedPending = new Map<string, number>();
    const deliveredThisHour = await state.delivered(options.hour);
    const eligible = options.alerts.filter((alert) => atLeast(alert.severity, sink.minSeverity));
    const fresh = eligible.filter((alert) => deliveredThisHour[alert.alert_id] === undefined);
    byHour.set(options.hour, fresh);
    for (const hour of await state.pendingHours()) {
      if (hour === options.hour) continue;
      const delivered = await state.delivered(hour);
      const stored = await state.pending(hour);
      storedPending.set(hour, stored.length);
      byHour.set(
        hour,
        stored.filter((alert) => delivered[alert.alert_id] === undefined),
      );
    }
    // Oldest hour first, then by severity, so a sink that recovers hears about the backlog in order.
    const queue = [...byHour.keys()].sort().flatMap((hour) => byHour.get(hour)!);
    const result = queue.length > 0 ? await sink.deliver(queue) : { delivered: [], failed: [] as string[] };
    const deliveredIds = new Set(result.delivered);
    let pending = 0;
    for (const [hour, alerts] of byHour) {
      await state.markDelivered(
        hour,
        alerts.filter((alert) => deliveredIds.has(alert.alert_id)).map((alert) => alert.alert_id),
        now(),
      );
      const left = alerts.filter((alert) => !deliveredIds.has(alert.alert_id));
      pending += left.length;
      // Write pending only where it changes: the current hour, and hours this run touched.
      if (hour === options.hour || storedPending.get(hour) !== left.length) await state.setPending(hour, left);
    }
    report[sink.name] = {
      delivered: result.delivered,
      pending,
      already_delivered: eligible.length - fresh.length,
      error: result.error ?? null,
    };
    const fields = { sink: sink.name, delivered: result.delivered.length, pending, already_delivered: eligible.length - fresh.length };
    if (result.error) options.logger.warn('alert delivery incomplete; undelivered alerts stay pending', { ...fields, error: result.error });
    else options.logger.info('alerts delivered', fields);
  }
  return report;
}

/**
 * The hourly job's entry point: builds the configured sinks (unless given) and delivers the hour's
 * alerts. The partition is already published when this runs, so a failure here is reported per
 * sink and logged, never thrown: the alerts stay pending for the next run.
 */
export async function deliverRunAlerts(options: {
  store: ObjectStore;
  sinkConfigs: readonly AlertSinkConfig[];
  sinks?: readonly AlertSink[] | undefined;
  hour: string;
  alerts: readonly AlertPayload[];
  logger: Logger;
  env?: NodeJS.ProcessEnv | undefined;
  stdout?: ((text: string) => void) | undefined;
  now?: () => Date;
}): Promise<Record<string, SinkDelivery>> {
  const sinks = options.sinks ?? createSinks(options.sinkConfigs, { env: options.env ?? process.env, stdout: options.stdout ?? ((text) => process.stdout.write(text)) });
  if (sinks.length === 0) return {};
  try {
    return await deliverAlerts({ store: options.store, sinks, hour: options.hour, alerts: options.alerts, logger: options.logger, ...(options.now ? { now: options.now } : {}) });
  } catch (error) {
    const message = `delivery state unavailable: ${(error as Error).message}`;
    options.logger.error('alert delivery failed; alerts stay pending', { error: message });
    return Object.fromEntries(sinks.map((sink) => [sink.name, { delivered: [], pending: options.alerts.length, already_delivered: 0, error: message }]));
  }
}
